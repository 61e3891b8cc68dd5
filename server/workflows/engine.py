"""Commands on workflow instances: start, fire a transition, record evidence, retry.

Every command owns its transaction. A transition is one transaction: the instance row
is locked, the expected state, the actor's role and every guard are checked, then the
state, the history row, the audit entry and the action runs for the new state are
written together. The actions themselves run afterwards in a worker; until they are
done the instance is ``acting`` and no other transition fires, so actions never
interleave and a failing one stops the instance where it is.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l

from server.audit.commands import record
from server.db.types import utcnow
from server.documents.contracts import MAX_SCAN_BYTES, SCAN_TYPES
from server.errors import CommandError
from server.extensions import db
from server.partners.models import Partner
from server.security.roles import Role
from server.workflows.models import (
    ActionRunStatus,
    DefinitionStatus,
    EvidenceKind,
    InstanceStatus,
    WorkflowActionRun,
    WorkflowDefinition,
    WorkflowEvidence,
    WorkflowInstance,
    WorkflowTransition,
)
from server.workflows.spec import START_TRIGGER, StateSpec, TransitionSpec, WorkflowSpec
from server.workflows.spec_cache import spec_of
from server.workflows.subjects import load_subject

logger = logging.getLogger(__name__)

#: statuses in which an instance still occupies its subject (one at a time per subject)
OPEN_STATUSES = (InstanceStatus.running, InstanceStatus.acting, InstanceStatus.error)
#: roles that may record a manager's approval
APPROVER_ROLES = frozenset({Role.MANAGER.value, Role.ADMIN.value})


class TransitionRefused(CommandError):
    """The transition may not fire now; :attr:`reasons` lists why, one per line."""

    def __init__(self, reasons: list[Any]) -> None:
        super().__init__("; ".join(str(reason) for reason in reasons))
        self.reasons = reasons


class StaleInstance(CommandError):
    """The instance moved since the page was loaded (someone else fired a transition)."""


def user_roles(actor_id: int | None) -> set[str]:
    """The role names of a user (none for the system or an unknown id)."""
    if actor_id is None:
        return set()
    user = db.session.get(User, actor_id)
    return {role.name for role in user.roles} if user is not None else set()


def may_fire(transition: TransitionSpec, roles: set[str]) -> bool:
    """Whether a user with ``roles`` may fire ``transition`` (Admin may fire any)."""
    return Role.ADMIN.value in roles or bool(roles & set(transition.roles))


def _audit(
    actor_id: int | None,
    action: str,
    instance: WorkflowInstance,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    comment: str | None,
) -> None:
    record(
        actor_id,
        action,
        "workflow_instance",
        instance.id,
        before=before,
        after=after,
        comment=comment,
    )


def _enter(
    instance: WorkflowInstance,
    state: StateSpec,
    transition_row: WorkflowTransition,
) -> bool:
    """Put the instance in ``state`` and add its action runs; True if any were added."""
    instance.state = state.name
    instance.state_entered_at = transition_row.at
    for position, action in enumerate(state.actions):
        db.session.add(
            WorkflowActionRun(
                instance_id=instance.id,
                transition_id=transition_row.id,
                state=state.name,
                position=position,
                action=action.kind,
                params=dict(action.params),
                status=ActionRunStatus.pending,
                attempts=0,
            )
        )
    if state.actions:
        instance.status = InstanceStatus.acting
    else:
        instance.status = InstanceStatus.finished if state.final else InstanceStatus.running
    instance.error = None
    return bool(state.actions)


def choose_definition(
    subject_type: str, subject_id: int, key: str | None = None
) -> WorkflowDefinition:
    """The published definition a new instance of this subject starts on.

    With ``key``, that definition's published version. Otherwise, for a partner, the
    published definition whose ``applies_to`` matches its kind and region, the most
    specific first (a region variant beats the kind's default); for a campaign, the
    only published campaign definition.

    Raises:
        CommandError: nothing published matches.
    """
    query = sa.select(WorkflowDefinition).where(
        WorkflowDefinition.status == DefinitionStatus.published,
        WorkflowDefinition.subject_type == subject_type,
    )
    if key is not None:
        query = query.where(WorkflowDefinition.key == key)
    candidates = list(db.session.scalars(query.order_by(WorkflowDefinition.key)))
    partner_kind = region = None
    if subject_type == "partner":
        partner = load_subject("partner", subject_id)
        assert isinstance(partner, Partner)
        partner_kind, region = partner.kind.value, partner.region.code
    matching = [(spec_of(definition), definition) for definition in candidates]
    matching = [
        (spec, definition)
        for spec, definition in matching
        if key is not None or spec.applies_to.matches(partner_kind, region)
    ]
    if not matching:
        raise CommandError(
            _l("No published workflow applies to this %(subject)s.", subject=subject_type)
        )
    matching.sort(key=lambda pair: -pair[0].applies_to.specificity)
    return matching[0][1]


def start_workflow(
    subject_type: str, subject_id: int, actor_id: int | None, key: str | None = None
) -> WorkflowInstance:
    """Start an instance for a partner or campaign in its definition's initial state.

    Raises:
        CommandError: the subject is unknown, already has an open instance, or no
            published definition applies.
    """
    load_subject(subject_type, subject_id)
    open_instance = db.session.scalar(
        sa.select(WorkflowInstance.id).where(
            WorkflowInstance.subject_type == subject_type,
            WorkflowInstance.subject_id == subject_id,
            WorkflowInstance.status.in_(OPEN_STATUSES),
        )
    )
    if open_instance is not None:
        raise CommandError(
            _l("This %(subject)s already has an open workflow.", subject=subject_type)
        )
    definition = choose_definition(subject_type, subject_id, key)
    spec = spec_of(definition)
    instance = WorkflowInstance(
        definition_id=definition.id,
        subject_type=subject_type,
        subject_id=subject_id,
        state=spec.initial,
        status=InstanceStatus.running,
    )
    db.session.add(instance)
    db.session.flush()
    row = WorkflowTransition(
        instance_id=instance.id,
        trigger=START_TRIGGER,
        from_state=None,
        to_state=spec.initial,
        actor_id=actor_id,
        at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    _enter(instance, spec.states[spec.initial], row)
    _audit(
        actor_id,
        "workflow.start",
        instance,
        None,
        {"definition": str(definition), "state": spec.initial},
        None,
    )
    db.session.commit()
    return instance


def _locked_instance(instance_id: int) -> WorkflowInstance:
    instance = db.session.scalar(
        sa.select(WorkflowInstance)
        .where(WorkflowInstance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if instance is None:
        raise CommandError(_l("Workflow instance %(id)s does not exist.", id=instance_id))
    return instance


def _refuse_unless_running(instance: WorkflowInstance) -> None:
    if instance.status is InstanceStatus.acting:
        raise TransitionRefused([_l("the actions of this state are still running")])
    if instance.status is InstanceStatus.error:
        raise TransitionRefused([_l("an action failed: fix the cause and press retry first")])
    if instance.status is InstanceStatus.finished:
        raise TransitionRefused([_l("the workflow is finished")])


def fire_transition(
    instance_id: int,
    trigger: str,
    actor_id: int | None,
    comment: str | None = None,
    expected_state: str | None = None,
) -> WorkflowInstance:
    """Fire ``trigger`` on the instance: checks, then one transaction, then queue actions.

    ``expected_state`` is the state the person saw; if the instance moved meanwhile
    nothing fires (a double click or two managers on one card).

    Raises:
        StaleInstance: the instance is no longer in ``expected_state``.
        TransitionRefused: no such transition here, the actor's roles may not fire it,
            a guard does not hold, or the instance is busy, failed or finished.
        CommandError: the instance does not exist.
    """
    try:
        instance = _locked_instance(instance_id)
        if expected_state is not None and instance.state != expected_state:
            raise StaleInstance(_l("The card moved meanwhile; the board is reloaded."))
        _refuse_unless_running(instance)
        spec = spec_of(instance.definition)
        transition = spec.transition(instance.state, trigger)
        from server.workflows.guards import (
            roles_title,
            state_title,
            transition_title,
            unmet_guards,
        )

        if transition is None:
            raise TransitionRefused(
                [
                    _l(
                        "“%(trigger)s” cannot be taken from the stage “%(state)s”",
                        trigger=transition_title(spec, trigger),
                        state=state_title(spec, instance.state),
                    )
                ]
            )
        if not may_fire(transition, user_roles(actor_id)):
            raise TransitionRefused(
                [
                    _l(
                        "your role may not take the step “%(trigger)s” (allowed: %(roles)s)",
                        trigger=transition_title(spec, trigger),
                        roles=roles_title(transition.roles),
                    )
                ]
            )
        subject = load_subject(instance.subject_type, instance.subject_id)

        reasons = unmet_guards(instance, subject, transition)
        if reasons:
            raise TransitionRefused(reasons)
        before = {"state": instance.state}
        row = WorkflowTransition(
            instance_id=instance.id,
            trigger=trigger,
            from_state=instance.state,
            to_state=transition.dest,
            actor_id=actor_id,
            comment=comment or None,
            at=utcnow(),
        )
        db.session.add(row)
        db.session.flush()
        _enter(instance, spec.states[transition.dest], row)
        _audit(
            actor_id,
            "workflow.transition",
            instance,
            before,
            {"state": transition.dest, "trigger": trigger},
            comment,
        )
        db.session.commit()
    except CommandError:
        db.session.rollback()
        raise
    return instance


def retry_actions(instance_id: int, actor_id: int | None) -> WorkflowInstance:
    """Set the failed (or stuck) actions of the instance to run again; the caller queues
    the worker (as after :func:`start_workflow` and :func:`fire_transition`).

    Raises:
        CommandError: the instance does not exist or has nothing to retry.
    """
    instance = _locked_instance(instance_id)
    if instance.status not in (InstanceStatus.error, InstanceStatus.acting):
        db.session.rollback()
        raise CommandError(_l("Nothing to retry: no action failed."))
    runs = db.session.scalars(
        sa.select(WorkflowActionRun).where(
            WorkflowActionRun.instance_id == instance.id,
            WorkflowActionRun.status.in_([ActionRunStatus.failed, ActionRunStatus.running]),
        )
    ).all()
    for run in runs:
        run.status = ActionRunStatus.pending
        run.finished_at = None
    before = {"status": instance.status.value, "error": instance.error}
    instance.status = InstanceStatus.acting
    instance.error = None
    _audit(
        actor_id,
        "workflow.retry",
        instance,
        before,
        {"status": "acting", "runs": [run.id for run in runs]},
        None,
    )
    db.session.commit()
    return instance


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content: bytes


def record_evidence(
    instance_id: int,
    kind: EvidenceKind,
    name: str,
    actor_id: int | None,
    upload: UploadedFile | None = None,
    comment: str | None = None,
) -> WorkflowEvidence:
    """Record a document, a completed training or an approval for the instance's subject.

    Documents are stored under ``FILES_DIR/workflows`` by their SHA-256; approvals need
    a Manager or Admin.

    Raises:
        CommandError: unknown instance, empty name, a file of a type not accepted, too
            large, or an approval by someone who is not a manager.
    """
    instance = db.session.get(WorkflowInstance, instance_id)
    if instance is None:
        raise CommandError(_l("Workflow instance %(id)s does not exist.", id=instance_id))
    name = name.strip()
    if not name or len(name) > 100:
        raise CommandError(_l("Give a name of 1 to 100 characters."))
    evidence = WorkflowEvidence(
        subject_type=instance.subject_type,
        subject_id=instance.subject_id,
        kind=kind,
        name=name,
        actor_id=actor_id,
        comment=comment or None,
        at=utcnow(),
    )
    if kind is EvidenceKind.approval:
        if not user_roles(actor_id) & APPROVER_ROLES:
            raise CommandError(_l("Only a manager can approve."))
        evidence.instance_id = instance.id
    if kind is EvidenceKind.document:
        if upload is None or not upload.content:
            raise CommandError(_l("Choose a file to upload."))
        evidence.file_name, evidence.file_path, evidence.sha256 = _store(upload)
    db.session.add(evidence)
    db.session.flush()
    _audit(
        actor_id,
        f"workflow.{kind.value}",
        instance,
        None,
        {"name": name, "sha256": evidence.sha256},
        comment,
    )
    db.session.commit()
    return evidence


def _store(upload: UploadedFile) -> tuple[str, str, str]:
    extension = Path(upload.filename).suffix.lower().lstrip(".")
    signatures = SCAN_TYPES.get(extension)
    if signatures is None or not upload.content.startswith(signatures):
        raise CommandError(_l("Upload a PDF, PNG or JPEG file."))
    if len(upload.content) > MAX_SCAN_BYTES:
        raise CommandError(_l("The file is too large."))
    digest = hashlib.sha256(upload.content).hexdigest()
    relative = Path("workflows") / f"{digest}.{extension}"
    target = Path(current_app.config["FILES_DIR"]) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        target.write_bytes(upload.content)
    return Path(upload.filename).name[:300], str(relative), digest


def available_transitions(
    instance: WorkflowInstance, spec: WorkflowSpec, roles: set[str]
) -> list[TransitionSpec]:
    """The transitions of the instance's state that a user with ``roles`` may fire."""
    if instance.status is not InstanceStatus.running:
        return []
    return [t for t in spec.transitions_from(instance.state) if may_fire(t, roles)]
