"""Commands over programs and their versions; each is one transaction with an audit entry.

The workspace, the command line (``programs import --publish``) and the demo all go
through these: a version published from the command line is indistinguishable from one
published in the browser (same lock, same archiving, same audit entries).

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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from server.audit import notes
from server.audit.commands import record
from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.i18n import current_language
from server.labels import format_day
from server.partners.models import Partner
from server.programs.diff import diff_programs
from server.programs.forms import RuleDraft
from server.programs.models import Program, ProgramVersion, RuleInstance, VersionStatus
from server.programs.queries import (
    deployment_currencies,
    latest_version,
    open_draft,
    version_document,
    version_in_force,
)
from server.programs.slugs import MAX_SLUG_LENGTH, is_valid_slug, suggest_slug
from server.programs.starters import PROGRAM_STARTERS
from server.rules.program import (
    DEFAULT_CURRENCY,
    Enrolment,
    ProgramError,
    ProgramSpec,
    dump_program_yaml,
    load_program_yaml,
    parse_program,
)

ENTITY = "program_version"


def rule_instances(
    spec: ProgramSpec, campaigns: dict[str, int | None] | None = None
) -> list[RuleInstance]:
    """A program's rules as rule instances, in order; ``campaigns`` links rule keys to
    the campaigns that own them."""
    links = campaigns or {}
    return [
        RuleInstance(
            position=position,
            rule_key=rule["id"],
            template_key=rule["template"],
            template_version=1,
            params=_json_ready(rule.get("params", {})),
            scope=_json_ready(rule.get("scope", {})),
            campaign_id=links.get(rule["id"]),
        )
        for position, rule in enumerate(spec.to_dict()["rules"])
    ]


def _json_ready(value: Any) -> Any:
    """Scope/params for a JSON column: dates as ISO text, decimals as their text."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


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
        "enrolment": version.enrolment,
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


def _empty_draft(program_id: int, actor_id: int | None, note: str | None) -> ProgramVersion:
    """The program's next version number, as a draft with no rules yet (not added)."""
    return ProgramVersion(
        program_id=program_id,
        number=next_version_number(program_id),
        status=VersionStatus.draft,
        created_by_id=actor_id,
        note=note,
    )


def _audit_new_draft(
    draft: ProgramVersion, actor_id: int | None, action: str, comment: str | None
) -> None:
    """Flush a new draft (added to the session) and audit it as
    ``program_version.<action>``: every way a draft is opened leaves the same entry."""
    db.session.flush()
    record(
        actor_id,
        f"program_version.{action}",
        ENTITY,
        draft.id,
        None,
        version_snapshot(draft),
        comment=comment,
    )


def _refuse_second_draft(program: Program) -> None:
    """One open draft per program: a second one would fork the first behind its
    author's back (two managers' edits, one published over the other). Call under the
    program's row lock."""
    draft = open_draft(program.id)
    if draft is not None:
        raise CommandError(
            _l(
                "Program %(program)s already has a draft, v%(number)s: continue it, "
                "or discard it before starting another.",
                program=program.title,
                number=draft.number,
            )
        )


def new_draft(
    source_version_id: int, actor_id: int | None, note: str | None = None, action: str = "edit"
) -> ProgramVersion:
    """A new draft copying a version's rules ("edit" of a published version, rollback)."""
    source = _get(source_version_id)
    program = db.session.scalar(
        sa.select(Program).where(Program.id == source.program_id).with_for_update()
    )
    assert program is not None  # the version's program
    _refuse_second_draft(program)
    draft = _empty_draft(source.program_id, actor_id, note)
    copy_rules(source, draft)
    draft.enrolment = stored_enrolment(source.enrolment)
    db.session.add(draft)
    _audit_new_draft(
        draft, actor_id, action, notes.draft_comment(source.number, draft.number, note)
    )
    db.session.commit()
    return draft


def rollback_to(version_id: int, actor_id: int | None) -> ProgramVersion:
    """A new draft equal to an old version (publish it to roll back)."""
    old = _get(version_id)
    return new_draft(
        version_id, actor_id, note=notes.note("rollback", number=old.number), action="rollback"
    )


def stored_enrolment(enrolment: Enrolment | dict[str, Any] | None) -> dict[str, Any] | None:
    """An enrolment as ``program_versions.enrolment`` holds it: its named keys, or
    ``None`` when it names nothing (every partner takes part)."""
    if enrolment is None:
        return None
    named = enrolment.to_dict() if isinstance(enrolment, Enrolment) else dict(enrolment)
    return {key: list(values) for key, values in named.items()} or None


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
    version.enrolment = stored_enrolment(spec.enrolment)
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


def save_enrolment(version_id: int, enrolment: Enrolment, actor_id: int | None) -> ProgramVersion:
    """Make ``enrolment`` the draft's enrolment (who takes part, ``spec/rules.md`` §6); it
    is published with the version and pinned to it. Audited as
    ``program_version.enrolment`` with the change in words.

    Raises:
        CommandError: the version is not a draft, or a listed partner does not exist.
    """
    version = _draft(version_id)
    _refuse_unknown_partners(enrolment.partners or ())
    document = version_document(version)
    document.pop("enrolment", None)
    named = enrolment.to_dict()
    if named:
        document["enrolment"] = named
    return _store_document(version, document, actor_id, "enrolment")


def enrol_partner(
    program_id: int,
    partner_code: str,
    effective_from: date,
    actor_id: int | None,
    note: str | None = None,
) -> ProgramVersion:
    """Add a partner to a program's explicit list of partners from ``effective_from``
    (the onboarding action ``assign_program``): a new version copying the one in force
    that day, its enrolment naming the partner too, published from that day through the
    same path as the workspace's Publish (lock, close the one before, audit). An open
    draft of the program gets the partner too (audited), so publishing it later does
    not drop them. One transaction.

    Nothing changes, and the version in force is returned, when it already enrols every
    partner (no enrolment named) or lists this one.

    Raises:
        CommandError: the partner is unknown; the program has no version in force that
            day, or a published version starting after it (publishing from the day would
            archive that scheduled version: the manager enrols the partner by hand).
    """
    program = db.session.scalar(
        sa.select(Program).where(Program.id == program_id).with_for_update()
    )
    if program is None:
        raise CommandError(_l("Unknown program %(id)s.", id=program_id))
    _refuse_unknown_partners([partner_code])
    current = version_in_force(program.id, effective_from)
    if current is None:
        raise CommandError(
            _l(
                "Program %(program)s has no version in force on %(day)s.",
                program=program.title,
                day=format_day(effective_from),
            )
        )
    scheduled = db.session.scalar(
        sa.select(ProgramVersion)
        .where(
            ProgramVersion.program_id == program.id,
            ProgramVersion.status == VersionStatus.published,
            ProgramVersion.effective_from > effective_from,
        )
        .order_by(ProgramVersion.effective_from)
        .limit(1)
    )
    if scheduled is not None:
        raise CommandError(
            _l(
                "Program %(program)s has version v%(number)s scheduled from %(day)s: enrol "
                "the partner in the workspace (in its draft and in the scheduled version).",
                program=program.title,
                number=scheduled.number,
                day=format_day(scheduled.effective_from) if scheduled.effective_from else "",
            )
        )
    document = version_document(current)
    if not _add_partner(document, partner_code):
        db.session.commit()  # nothing to change: end the transaction and its lock
        return current
    campaigns = {rule.rule_key: rule.campaign_id for rule in current.rules}
    version = _new_draft_from_spec(
        parse_program(document),
        actor_id,
        note,
        campaigns,
        publishing=effective_from,
        action="enrolment",
    )
    _publish_draft(version, effective_from, actor_id)
    draft = open_draft(program.id)
    if draft is not None and draft.id != version.id:
        draft_document = version_document(draft)
        if _add_partner(draft_document, partner_code):
            before = version_snapshot(draft)
            draft.enrolment = stored_enrolment(draft_document["enrolment"])
            record(
                actor_id,
                "program_version.enrolment",
                ENTITY,
                draft.id,
                before,
                version_snapshot(draft),
                comment=note,
            )
    db.session.commit()
    return version


def _add_partner(document: dict[str, Any], partner_code: str) -> bool:
    """Name ``partner_code`` in a program document's enrolment; False when the document
    already enrols it without a change (everybody, or listed)."""
    enrolment = document.get("enrolment")
    if not enrolment:
        return False
    listed = list(enrolment.get("partners") or [])
    if partner_code in listed:
        return False
    enrolment["partners"] = [*listed, partner_code]
    return True


def _refuse_unknown_partners(codes: Iterable[str]) -> None:
    wanted = set(codes)
    known = set(db.session.scalars(sa.select(Partner.code).where(Partner.code.in_(wanted))))
    unknown = sorted(wanted - known)
    if unknown:
        raise CommandError(_l("Unknown partners: %(codes)s.", codes=", ".join(unknown)))


def import_program_yaml(text: str, actor_id: int | None, note: str | None = None) -> ProgramVersion:
    """Store a program file as a new draft of its program (the program is created if new).

    Raises:
        ProgramError: the file is invalid (every issue listed).
        CommandError: the program exists with another currency.
    """
    draft = _new_draft_from_spec(load_program_yaml(text), actor_id, note)
    db.session.commit()
    return draft


def add_program_version(
    spec: ProgramSpec,
    *,
    publish: bool = False,
    effective_from: date | None = None,
    actor_id: int | None = None,
    note: str | None = None,
) -> ProgramVersion:
    """Store a validated program as a new version of its program (created if new) and,
    with ``publish``, publish it from ``effective_from`` in the same transaction, exactly
    as :func:`publish_version` does (lock, archive, close the one before, audit).

    Raises:
        CommandError: publishing without an effective date; another currency.
    """
    if publish and effective_from is None:
        raise CommandError(_l("A published version needs an effective-from date."))
    version = stage_program_version(
        spec, effective_from=effective_from if publish else None, actor_id=actor_id, note=note
    )
    db.session.commit()
    return version


def stage_program_version(
    spec: ProgramSpec,
    *,
    effective_from: date | None,
    actor_id: int | None,
    note: str | None,
    campaigns: dict[str, int | None] | None = None,
) -> ProgramVersion:
    """:func:`add_program_version`'s work without the commit, for a command that stores
    a program version together with rows of its own in one transaction (a campaign and
    its own program). Published from ``effective_from`` unless it is None (a draft);
    ``campaigns`` links rule keys to the campaigns that own them.

    Raises:
        CommandError: another currency; a second open draft of the program.
    """
    version = _new_draft_from_spec(spec, actor_id, note, campaigns, publishing=effective_from)
    if effective_from is not None:
        _publish_draft(version, effective_from, actor_id)
    return version


def _new_draft_from_spec(
    spec: ProgramSpec,
    actor_id: int | None,
    note: str | None,
    campaigns: dict[str, int | None] | None = None,
    publishing: date | None = None,
    action: str = "import",
    comment: str | None = None,
) -> ProgramVersion:
    """A new draft holding ``spec``'s rules, audited as ``program_version.<action>``
    with ``comment`` (default: the note); the caller commits.

    ``publishing``: the caller publishes the draft in the same transaction, so it is
    never an open draft beside another.

    Raises:
        CommandError: the program exists with another currency, or already has an open
            draft (unless ``publishing``).
    """
    program = db.session.scalar(
        sa.select(Program).where(Program.slug == spec.slug).with_for_update()
    )
    if program is None:
        program = _add_program(spec.slug, spec.title or spec.slug, spec.currency, actor_id)
    elif program.currency != spec.currency:
        raise CommandError(
            _l(
                "A program's currency cannot change (%(old)s → %(new)s).",
                old=program.currency,
                new=spec.currency,
            )
        )
    if publishing is None:
        _refuse_second_draft(program)
    draft = _empty_draft(program.id, actor_id, note)
    draft.program = program
    db.session.add(draft)
    draft.rules.extend(rule_instances(spec, campaigns))
    draft.enrolment = stored_enrolment(spec.enrolment)
    _audit_new_draft(draft, actor_id, action, comment or note)
    return draft


def _add_program(slug: str, title: str, currency: str, actor_id: int | None) -> Program:
    """A new program row, flushed and audited (the caller commits). Raises
    ``IntegrityError`` when another transaction took the slug first."""
    program = Program(slug=slug, title=title, currency=currency)
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
    return program


def export_yaml(version: ProgramVersion) -> str:
    """The version as a program file (``spec/rules.md`` format)."""
    return dump_program_yaml(parse_program(version_document(version)))


def publish_version(version_id: int, effective_from: date, actor_id: int | None) -> ProgramVersion:
    """Publish a draft from ``effective_from`` (see the module docstring).

    Raises:
        CommandError: the version is not a draft, or has no rules.
        ProgramError: the stored rules no longer validate (e.g. a template changed).
    """
    version = _draft(version_id)
    _publish_draft(version, effective_from, actor_id)
    db.session.commit()
    return version


def _publish_draft(version: ProgramVersion, effective_from: date, actor_id: int | None) -> None:
    """Publish a draft under the program's row lock (the caller commits)."""
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


#: how a new program starts ("Начать с")
START_EMPTY = "empty"
START_COPY = "copy"
START_STARTER = "starter"
#: the longest program title (``programs.title``)
MAX_TITLE_LENGTH = 300


class NewProgramError(CommandError):
    """:func:`create_program` refused its input; ``field`` names the form field at fault
    (``title``, ``slug``, ``currency`` or ``start``)."""

    def __init__(self, field: str, message: object) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class NewProgram:
    """What "New program" asks for. ``start`` is :data:`START_EMPTY`,
    :data:`START_COPY` (with ``copy_of``, a program's slug) or :data:`START_STARTER`
    (with ``starter``, a key of :data:`~server.programs.starters.PROGRAM_STARTERS`).
    An empty ``slug`` is suggested from the title."""

    title: str
    slug: str = ""
    currency: str = DEFAULT_CURRENCY
    start: str = START_EMPTY
    copy_of: str | None = None
    starter: str | None = None


def create_program(new: NewProgram, actor_id: int | None) -> ProgramVersion:
    """Create a program and its first draft, to be composed in the rule builder: empty,
    with the rules of another program's latest version (not its history, not its
    campaigns' rules), or with a starter program's rules. One transaction, audited
    (``program.create`` and ``program_version.create``).

    Raises:
        NewProgramError: the title is empty or too long; the code is malformed or taken;
            the currency is not a three-letter code or differs from the other programs'
            (all programs of a deployment share one, ``spec/rules.md`` §6); the start is
            unknown, or the program to copy does not exist or has no version.
    """
    title = new.title.strip()
    if not title:
        raise NewProgramError("title", _l("Enter the program's title."))
    if len(title) > MAX_TITLE_LENGTH:
        raise NewProgramError(
            "title",
            _l("The title is too long: at most %(count)s characters.", count=MAX_TITLE_LENGTH),
        )
    slug = new.slug.strip() or suggest_slug(title)
    if not is_valid_slug(slug):
        raise NewProgramError(
            "slug",
            _l(
                "The code may hold only lowercase Latin letters and digits, in words joined "
                "by single hyphens (e.g. stores-2026), at most %(count)s characters.",
                count=MAX_SLUG_LENGTH,
            ),
        )
    if db.session.scalar(sa.select(Program.id).where(Program.slug == slug)) is not None:
        raise NewProgramError(
            "slug", _l("A program with the code %(slug)s already exists.", slug=slug)
        )
    currency = new.currency.strip().upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise NewProgramError("currency", _l("The currency is a three-letter code such as RUB."))
    others = [code for code in deployment_currencies() if code != currency]
    if others:
        raise NewProgramError(
            "currency",
            _l(
                "All programs of a deployment pay in one currency, and the existing programs "
                "pay in %(currency)s: a new program pays in it too.",
                currency=", ".join(others),
            ),
        )
    rules, note, comment, enrolment = _starting_rules(new)
    try:
        spec = parse_program(
            {
                "program": slug,
                "title": title,
                "currency": currency,
                "enrolment": enrolment,
                "rules": rules,
            }
        )
    except ProgramError as error:
        # a copied version that no longer validates (a template changed under it)
        raise NewProgramError("start", error.text(current_language())) from None
    try:
        # the row first: a program made with this code meanwhile must not get our draft
        _add_program(slug, title, currency, actor_id)
    except IntegrityError:
        # another manager created the same code between the check and the insert
        db.session.rollback()
        raise NewProgramError(
            "slug", _l("A program with the code %(slug)s already exists.", slug=slug)
        ) from None
    draft = _new_draft_from_spec(spec, actor_id, note, action="create", comment=comment)
    db.session.commit()
    return draft


def _starting_rules(
    new: NewProgram,
) -> tuple[list[dict[str, Any]], str | None, str | None, dict[str, Any] | None]:
    """The first draft's rules, its note, its audit comment and its enrolment (a copy
    takes the copied version's; otherwise everybody) for ``new.start``."""
    if new.start == START_EMPTY:
        return [], None, None, None
    if new.start == START_STARTER:
        starter = PROGRAM_STARTERS.get(new.starter or "")
        if starter is None:
            raise NewProgramError("start", _l("Choose one of the starter programs."))
        return [dict(rule) for rule in starter.rules], None, f"starter {starter.key}", None
    if new.start == START_COPY:
        source = db.session.scalar(sa.select(Program).where(Program.slug == (new.copy_of or "")))
        version = latest_version(source.id) if source is not None else None
        if source is None or version is None:
            raise NewProgramError("start", _l("Choose a program with a version to copy."))
        # a campaign's rules belong to that campaign (its window, its budget) in its program
        rules = [
            rule
            for rule, stored in zip(version_document(version)["rules"], version.rules, strict=True)
            if stored.campaign_id is None
        ]
        copied = notes.note("program_copy", slug=source.slug, number=version.number)
        return rules, copied, copied, version_document(version).get("enrolment")
    raise NewProgramError("start", _l("Choose how the program starts."))
