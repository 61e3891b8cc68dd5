"""Commands on definitions: import the files, save a draft, publish, migrate instances.

Versions: a published version is never edited. Saving over it creates the next version
as a draft; publishing a draft archives the version published before. Instances keep
the version they started on; :func:`migrate_instances` moves running ones to another
version explicitly, after :func:`preview_migration` shows where each lands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from server.audit.commands import record
from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.workflows.models import (
    DefinitionStatus,
    InstanceStatus,
    WorkflowDefinition,
    WorkflowInstance,
    WorkflowTransition,
)
from server.workflows.spec import MIGRATE_TRIGGER
from server.workflows.spec_cache import spec_of
from server.workflows.subjects import subject_labels
from server.workflows.validation import parse_definition


def _audit(
    actor_id: int | None, action: str, definition: WorkflowDefinition, after: dict[str, object]
) -> None:
    record(actor_id, action, "workflow_definition", definition.id, after=after)


def workflows_dir() -> Path:
    return Path(current_app.config["WORKFLOWS_DIR"])


def definition_files(directory: Path | None = None) -> list[Path]:
    """The definition files of the workflows folder, sorted by name."""
    folder = directory or workflows_dir()
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def import_definition_files(directory: Path | None = None) -> list[str]:
    """Publish version 1 of every file whose key is not in the database yet; commit.

    Keys already stored are left alone: after the first import, managers own the
    definitions in the browser. Returns the imported keys.

    Raises:
        DefinitionInvalid: a file does not validate (nothing is imported then).
    """
    imported = []
    for path in definition_files(directory):
        text = path.read_text(encoding="utf-8")
        spec = parse_definition(text, path.name)
        exists = db.session.scalar(
            sa.select(WorkflowDefinition.id).where(WorkflowDefinition.key == spec.key).limit(1)
        )
        if exists is not None:
            continue
        definition = WorkflowDefinition(
            key=spec.key,
            version=1,
            subject_type=spec.subject_type,
            source_yaml=text,
            status=DefinitionStatus.published,
            published_at=utcnow(),
        )
        db.session.add(definition)
        db.session.flush()
        _audit(None, "workflow_definition.import", definition, {"file": path.name})
        imported.append(spec.key)
    db.session.commit()
    return imported


def _get(definition_id: int) -> WorkflowDefinition:
    definition = db.session.get(WorkflowDefinition, definition_id)
    if definition is None:
        raise CommandError(_l("Workflow definition %(id)s does not exist.", id=definition_id))
    return definition


def _next_version(key: str) -> int:
    latest = db.session.scalar(
        sa.select(sa.func.max(WorkflowDefinition.version)).where(WorkflowDefinition.key == key)
    )
    return int(latest or 0) + 1


def save_definition(
    definition_id: int | None, text: str, actor_id: int | None
) -> WorkflowDefinition:
    """Save edited YAML: in place over a draft, else as the key's next draft version.

    With ``definition_id`` None the text starts a new key (or a new draft of an
    existing key).

    Raises:
        DefinitionInvalid: the text does not validate (every issue listed).
        CommandError: the text changes the key of the definition being edited.
    """
    current = _get(definition_id) if definition_id is not None else None
    name = f"{current.key} v{current.version}" if current else "new"
    spec = parse_definition(text, name)
    if current is not None and spec.key != current.key:
        raise CommandError(
            _l("The key cannot change (%(old)s); start a new definition instead.", old=current.key)
        )
    if current is not None and current.status is DefinitionStatus.draft:
        current.source_yaml = text
        current.subject_type = spec.subject_type
        draft = current
    else:
        draft = WorkflowDefinition(
            key=spec.key,
            version=_next_version(spec.key),
            subject_type=spec.subject_type,
            source_yaml=text,
            status=DefinitionStatus.draft,
            created_by_id=actor_id,
        )
        db.session.add(draft)
        db.session.flush()
    _audit(actor_id, "workflow_definition.save", draft, {"version": draft.version})
    db.session.commit()
    return draft


def publish_definition(definition_id: int, actor_id: int | None) -> WorkflowDefinition:
    """Publish a draft: new instances start on it; the previous version is archived.

    Raises:
        CommandError: not a draft. DefinitionInvalid: it no longer validates.
    """
    definition = _get(definition_id)
    if definition.status is not DefinitionStatus.draft:
        raise CommandError(_l("Only a draft can be published."))
    parse_definition(definition.source_yaml, str(definition))
    previous = db.session.scalars(
        sa.select(WorkflowDefinition).where(
            WorkflowDefinition.key == definition.key,
            WorkflowDefinition.status == DefinitionStatus.published,
        )
    ).all()
    for old in previous:
        old.status = DefinitionStatus.archived
    definition.status = DefinitionStatus.published
    definition.published_at = utcnow()
    _audit(
        actor_id,
        "workflow_definition.publish",
        definition,
        {"version": definition.version, "archived": [old.version for old in previous]},
    )
    db.session.commit()
    return definition


@dataclass(frozen=True)
class MigrationLanding:
    """Where one running instance would land on the target version."""

    instance_id: int
    subject: str
    from_version: int
    from_state: str
    to_state: str
    #: True when the state does not exist on the target and the mapping chose one
    remapped: bool


def _migratable(key: str, target: WorkflowDefinition) -> list[WorkflowInstance]:
    return list(
        db.session.scalars(
            sa.select(WorkflowInstance)
            .join(WorkflowDefinition)
            .where(
                WorkflowDefinition.key == key,
                WorkflowInstance.definition_id != target.id,
                WorkflowInstance.status == InstanceStatus.running,
            )
            .order_by(WorkflowInstance.id)
        )
    )


def preview_migration(
    target_id: int, mapping: Mapping[str, str] | None = None
) -> list[MigrationLanding]:
    """Where each running instance of the key would land on version ``target_id``.

    A state the target also has is kept; others go where ``mapping`` says, else to the
    target's initial state. Instances busy with actions or failed are not moved.
    """
    target = _get(target_id)
    spec = spec_of(target)
    instances = _migratable(target.key, target)
    labels = subject_labels(target.subject_type, [i.subject_id for i in instances])
    landings = []
    for instance in instances:
        kept = instance.state in spec.states
        chosen = (mapping or {}).get(instance.state)
        to_state = instance.state if kept else (chosen if chosen in spec.states else spec.initial)
        landings.append(
            MigrationLanding(
                instance.id,
                labels.get(instance.subject_id, "?"),
                instance.definition.version,
                instance.state,
                str(to_state),
                not kept,
            )
        )
    return landings


def migrate_instances(
    target_id: int, mapping: Mapping[str, str] | None, actor_id: int | None
) -> list[MigrationLanding]:
    """Move every running instance of the key to version ``target_id``, as previewed.

    One transaction; each move is a history row and an audit entry. The actions of the
    landing state are not run again (the partner already went through them).

    Raises:
        CommandError: the target is not published.
    """
    target = _get(target_id)
    if target.status is not DefinitionStatus.published:
        raise CommandError(_l("Instances can move only to a published version."))
    landings = preview_migration(target_id, mapping)
    now = utcnow()
    for landing in landings:
        instance = db.session.get(WorkflowInstance, landing.instance_id)
        assert instance is not None
        comment = f"v{landing.from_version} → v{target.version}"
        db.session.add(
            WorkflowTransition(
                instance_id=instance.id,
                trigger=MIGRATE_TRIGGER,
                from_state=instance.state,
                to_state=landing.to_state,
                actor_id=actor_id,
                comment=comment,
                at=now,
            )
        )
        if instance.state != landing.to_state:
            instance.state_entered_at = now
        instance.state = landing.to_state
        instance.definition_id = target.id
        record(
            actor_id,
            "workflow.migrate",
            "workflow_instance",
            instance.id,
            before={"version": landing.from_version, "state": landing.from_state},
            after={"version": target.version, "state": landing.to_state},
        )
    db.session.commit()
    return landings
