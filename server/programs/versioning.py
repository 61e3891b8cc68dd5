"""Versioning commands of the manager's workspace; each is one transaction with audit.

Lifecycle: **draft → published → archived**. Only drafts change. "Edit" of a
published version and a rollback both make a new draft copying a version's rules.

Publishing a draft with an effective date ``D`` (one transaction, program row locked):

* published versions of the program that start on or after ``D`` are **archived**:
  the new version supersedes them entirely and they are never in force again;
* the published version in force on the day before ``D`` keeps its status and gets
  ``effective_to = D − 1``: events dated before ``D`` are still evaluated under it;
* the draft becomes published with ``effective_from = D`` and no ``effective_to``.

Accruals already in the ledger are never recomputed: a back-dated version applies to
events evaluated after the publication only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from server.audit import notes
from server.audit.commands import record
from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.programs.commands import rule_instances, version_document
from server.programs.diff import diff_programs
from server.programs.forms import RuleDraft
from server.programs.models import Program, ProgramVersion, RuleInstance, VersionStatus
from server.rules.program import Program as ProgramSpec
from server.rules.program import dump_program_yaml, load_program_yaml, parse_program

ENTITY = "program_version"


def _get(version_id: int, *, lock: bool = False) -> ProgramVersion:
    query = sa.select(ProgramVersion).where(ProgramVersion.id == version_id)
    if lock:
        query = query.with_for_update()
    version = db.session.scalar(query)
    if version is None:
        raise CommandError(_l("Unknown program version %(id)s.", id=version_id))
    return version


def _draft(version_id: int) -> ProgramVersion:
    version = _get(version_id, lock=True)
    if version.status is not VersionStatus.draft:
        raise CommandError(
            _l(
                "Version %(number)s is %(status)s: only drafts change; make a new draft.",
                number=version.number,
                status=version.status.value,
            )
        )
    return version


def version_snapshot(version: ProgramVersion) -> dict[str, Any]:
    return {
        "status": version.status.value,
        "number": version.number,
        "effective_from": version.effective_from,
        "effective_to": version.effective_to,
        "rules": version_document(version)["rules"],
    }


def next_version_number(program_id: int) -> int:
    latest = db.session.scalar(
        sa.select(sa.func.max(ProgramVersion.number)).where(ProgramVersion.program_id == program_id)
    )
    return (latest or 0) + 1


def copy_rules(source: ProgramVersion, target: ProgramVersion) -> None:
    for rule in source.rules:
        target.rules.append(
            RuleInstance(
                position=rule.position,
                rule_key=rule.rule_key,
                template_key=rule.template_key,
                template_version=rule.template_version,
                params=dict(rule.params or {}),
                scope=dict(rule.scope or {}),
                campaign_id=rule.campaign_id,
            )
        )


def _replace_rules(version: ProgramVersion, spec: ProgramSpec) -> None:
    """Make the version's rules those of ``spec`` (campaign links kept by rule key)."""
    campaigns = {rule.rule_key: rule.campaign_id for rule in version.rules}
    version.rules.clear()
    db.session.flush()  # the unique (version, rule_key) must be free before re-adding
    version.rules.extend(rule_instances(spec, campaigns))


def new_draft(
    source_version_id: int, actor_id: int | None, note: str | None = None, action: str = "edit"
) -> ProgramVersion:
    """A new draft copying a version's rules ("edit" of a published version, rollback)."""
    source = _get(source_version_id)
    db.session.scalar(sa.select(Program).where(Program.id == source.program_id).with_for_update())
    draft = ProgramVersion(
        program_id=source.program_id,
        number=next_version_number(source.program_id),
        status=VersionStatus.draft,
        created_by_id=actor_id,
        note=note,
    )
    copy_rules(source, draft)
    db.session.add(draft)
    db.session.flush()
    record(
        actor_id,
        f"program_version.{action}",
        ENTITY,
        draft.id,
        None,
        version_snapshot(draft),
        comment=notes.draft_comment(source.number, draft.number, note),
    )
    db.session.commit()
    return draft


def rollback_to(version_id: int, actor_id: int | None) -> ProgramVersion:
    """A new draft equal to an old version (publish it to roll back)."""
    old = _get(version_id)
    return new_draft(
        version_id, actor_id, note=notes.note("rollback", number=old.number), action="rollback"
    )


def _store_document(
    version: ProgramVersion, document: dict[str, Any], actor_id: int | None, action: str
) -> ProgramVersion:
    """Validate ``document`` and make it the draft's content. Raises ``ProgramError``."""
    spec = parse_program(document)
    program = version.program
    if spec.slug != program.slug:
        raise CommandError(
            _l(
                "The document is for program %(slug)s, not %(expected)s.",
                slug=spec.slug,
                expected=program.slug,
            )
        )
    if spec.currency != program.currency:
        raise CommandError(
            _l(
                "A program's currency cannot change (%(old)s → %(new)s).",
                old=program.currency,
                new=spec.currency,
            )
        )
    before = version_snapshot(version)
    old_spec = parse_program(version_document(version))
    if spec.title and spec.title != program.title:
        record(
            actor_id,
            "program.title",
            "program",
            program.id,
            {"title": program.title},
            {"title": spec.title},
        )
        program.title = spec.title
    _replace_rules(version, spec)
    db.session.flush()
    changes = diff_programs(old_spec, spec, "en").summary()
    record(
        actor_id,
        f"program_version.{action}",
        ENTITY,
        version.id,
        before,
        version_snapshot(version),
        comment="; ".join(changes) or None,
    )
    db.session.commit()
    return version


def save_document(
    version_id: int, document: dict[str, Any], actor_id: int | None
) -> ProgramVersion:
    """Replace a draft's rules with a program document (the advanced YAML view).

    Raises:
        ProgramError: the document is invalid (every issue listed).
        CommandError: the version is not a draft, or the slug/currency differ.
    """
    return _store_document(_draft(version_id), document, actor_id, "save")


def save_yaml(version_id: int, text: str, actor_id: int | None) -> ProgramVersion:
    """:func:`save_document` for YAML text. Raises ``ProgramError`` for malformed YAML too."""
    version = _draft(version_id)
    spec = load_program_yaml(text)
    return _store_document(version, spec.to_dict(), actor_id, "save_yaml")


def save_rule(
    version_id: int, rule: RuleDraft, actor_id: int | None, replaces: str | None = None
) -> ProgramVersion:
    """Add a rule to a draft, or replace the rule ``replaces`` (kept in its position).

    Raises:
        ProgramError: the rule (or the resulting program) is invalid; nothing is saved.
        CommandError: the version is not a draft, or ``replaces`` is not one of its rules.
    """
    version = _draft(version_id)
    document = version_document(version)
    rules = document["rules"]
    if replaces is None:
        rules.append(rule.document())
        action = "rule_add"
    else:
        index = next((i for i, r in enumerate(rules) if r["id"] == replaces), None)
        if index is None:
            raise CommandError(_l("The draft has no rule %(rule)s.", rule=replaces))
        rules[index] = rule.document()
        action = "rule_edit"
    return _store_document(version, document, actor_id, action)


def delete_rule(version_id: int, rule_key: str, actor_id: int | None) -> ProgramVersion:
    """Remove a rule from a draft. Raises ``CommandError`` if it is not a draft's rule."""
    version = _draft(version_id)
    document = version_document(version)
    kept = [r for r in document["rules"] if r["id"] != rule_key]
    if len(kept) == len(document["rules"]):
        raise CommandError(_l("The draft has no rule %(rule)s.", rule=rule_key))
    document["rules"] = kept
    return _store_document(version, document, actor_id, "rule_delete")


def move_rule(version_id: int, rule_key: str, offset: int, actor_id: int | None) -> ProgramVersion:
    """Move a rule up (``-1``) or down (``+1``): the order is the output order."""
    version = _draft(version_id)
    document = version_document(version)
    rules = document["rules"]
    index = next((i for i, r in enumerate(rules) if r["id"] == rule_key), None)
    if index is None:
        raise CommandError(_l("The draft has no rule %(rule)s.", rule=rule_key))
    target = min(max(index + offset, 0), len(rules) - 1)
    rules.insert(target, rules.pop(index))
    return _store_document(version, document, actor_id, "rule_move")


def import_program_yaml(text: str, actor_id: int | None, note: str | None = None) -> ProgramVersion:
    """Store a program file as a new draft of its program (the program is created if new).

    Raises:
        ProgramError: the file is invalid (every issue listed).
        CommandError: the program exists with another currency.
    """
    spec = load_program_yaml(text)
    program = db.session.scalar(
        sa.select(Program).where(Program.slug == spec.slug).with_for_update()
    )
    if program is None:
        program = Program(slug=spec.slug, title=spec.title or spec.slug, currency=spec.currency)
        db.session.add(program)
        db.session.flush()
        record(
            actor_id,
            "program.create",
            "program",
            program.id,
            None,
            {"slug": program.slug, "title": program.title, "currency": program.currency},
        )
    elif program.currency != spec.currency:
        raise CommandError(
            _l(
                "A program's currency cannot change (%(old)s → %(new)s).",
                old=program.currency,
                new=spec.currency,
            )
        )
    draft = ProgramVersion(
        program_id=program.id,
        number=next_version_number(program.id),
        status=VersionStatus.draft,
        created_by_id=actor_id,
        note=note,
    )
    draft.program = program
    db.session.add(draft)
    _replace_rules(draft, spec)
    db.session.flush()
    record(
        actor_id,
        "program_version.import",
        ENTITY,
        draft.id,
        None,
        version_snapshot(draft),
        comment=note,
    )
    db.session.commit()
    return draft


def export_yaml(version: ProgramVersion) -> str:
    """The version as a program file (``spec/rules.md`` format)."""
    return dump_program_yaml(parse_program(version_document(version)))


def publish(version_id: int, effective_from: date, actor_id: int | None) -> ProgramVersion:
    """Publish a draft from ``effective_from`` (see the module docstring).

    Raises:
        CommandError: the version is not a draft, or has no rules.
        ProgramError: the stored rules no longer validate (e.g. a template changed).
    """
    version = _draft(version_id)
    db.session.scalar(sa.select(Program).where(Program.id == version.program_id).with_for_update())
    if not version.rules:
        raise CommandError(_l("A version without rules cannot be published."))
    parse_program(version_document(version))
    others = db.session.scalars(
        sa.select(ProgramVersion).where(
            ProgramVersion.program_id == version.program_id,
            ProgramVersion.status == VersionStatus.published,
            ProgramVersion.id != version.id,
        )
    ).all()
    for other in others:
        before = version_snapshot(other)
        if other.effective_from is None or other.effective_from >= effective_from:
            other.status = VersionStatus.archived
            record(
                actor_id,
                "program_version.archive",
                ENTITY,
                other.id,
                before,
                version_snapshot(other),
                comment=notes.note("superseded", number=version.number),
            )
        elif other.effective_to is None or other.effective_to >= effective_from:
            other.effective_to = effective_from - timedelta(days=1)
            record(
                actor_id,
                "program_version.close",
                ENTITY,
                other.id,
                before,
                version_snapshot(other),
                comment=notes.note("followed", number=version.number),
            )
    before = version_snapshot(version)
    version.status = VersionStatus.published
    version.effective_from = effective_from
    version.effective_to = None
    version.published_at = utcnow()
    record(
        actor_id, "program_version.publish", ENTITY, version.id, before, version_snapshot(version)
    )
    db.session.commit()
    return version


def archive_draft(version_id: int, actor_id: int | None) -> ProgramVersion:
    """Discard a draft (it stays, archived, for the record)."""
    version = _draft(version_id)
    before = version_snapshot(version)
    version.status = VersionStatus.archived
    record(
        actor_id, "program_version.discard", ENTITY, version.id, before, version_snapshot(version)
    )
    db.session.commit()
    return version
