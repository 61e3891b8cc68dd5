"""Read-only queries over programs and their versions: nothing here writes or commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.i18n import current_language
from server.labels import EMPTY
from server.partners.models import Partner
from server.programs.diff import diff_programs
from server.programs.models import Program, ProgramVersion, RuleInstance, VersionStatus
from server.rules.plain_words import describe_enrolment, describe_rule
from server.rules.program import Enrolment, ProgramError, ProgramSpec, parse_program
from server.rules.templates import default_catalogue


def published_versions() -> list[ProgramVersion]:
    """Every published program version, newest effective date first."""
    return list(
        db.session.scalars(
            sa.select(ProgramVersion)
            .where(ProgramVersion.status == VersionStatus.published)
            .order_by(ProgramVersion.effective_from.desc())
        )
    )


def version_document(version: ProgramVersion) -> dict[str, Any]:
    """A stored version as the spec's program document, with the enrolment it pins."""
    document = _program_document(version.program, [_rule_entry(rule) for rule in version.rules])
    if version.enrolment:
        document["enrolment"] = {key: list(values) for key, values in version.enrolment.items()}
    return document


def rule_in_words(rule: RuleInstance, lang: str) -> str:
    """A stored rule as the sentence partners read, in ``lang`` (``ru`` or ``en``).

    Raises :class:`ProgramError` if the stored rule no longer validates (a template
    changed under it), ``KeyError`` for an unknown language or template.
    """
    program = rule.program_version.program
    spec = parse_program(_program_document(program, [_rule_entry(rule)]))
    return describe_rule(spec.rules[0], default_catalogue(), lang, program.currency)


def _rule_entry(rule: RuleInstance) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": rule.rule_key, "template": rule.template_key}
    if rule.scope:
        entry["scope"] = rule.scope
    entry["params"] = rule.params
    return entry


def _program_document(program: Program, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "program": program.slug,
        "title": program.title,
        "currency": program.currency,
        "rules": rules,
    }


def version_spec(version: ProgramVersion) -> ProgramSpec:
    """Parse a stored version back into the evaluator's program (validated again)."""
    return parse_program(version_document(version))


def version_in_force(program_id: int, on: date) -> ProgramVersion | None:
    """The published version of a program in force on a date, if any."""
    return db.session.scalar(
        sa.select(ProgramVersion)
        .where(
            ProgramVersion.program_id == program_id,
            ProgramVersion.status == VersionStatus.published,
            ProgramVersion.effective_from <= on,
        )
        .order_by(ProgramVersion.effective_from.desc(), ProgramVersion.number.desc())
        .limit(1)
    )


def rule_in_plain_words(rule: RuleInstance) -> str:
    """The rule as partners read it, in the user's language; a dash if the stored rule
    no longer validates against its template."""
    try:
        return rule_in_words(rule, current_language())
    except (ProgramError, KeyError):
        return EMPTY


def rule_template_title(rule: RuleInstance) -> str:
    """The rule's template's name in the user's language (its key if it left the
    catalogue)."""
    return default_catalogue().title_of(rule.template_key, current_language())


def author_name(version: ProgramVersion) -> str | None:
    """Who started the version, by name (their login when no name is set)."""
    if version.created_by_id is None:
        return None
    from flask_appbuilder.security.sqla.models import User

    user = db.session.get(User, version.created_by_id)
    if user is None:
        return None
    return " ".join(p for p in (user.first_name, user.last_name) if p) or user.username


def open_draft(program_id: int) -> ProgramVersion | None:
    """The program's open draft, if it has one (it has at most one)."""
    return db.session.scalar(
        sa.select(ProgramVersion)
        .where(
            ProgramVersion.program_id == program_id,
            ProgramVersion.status == VersionStatus.draft,
        )
        .order_by(ProgramVersion.number.desc())
        .limit(1)
    )


def latest_version(program_id: int) -> ProgramVersion | None:
    """The program's newest version that is not archived (a draft in progress or the
    newest published one); the newest archived one when every version is archived;
    ``None`` for a program without versions."""
    return db.session.scalar(
        sa.select(ProgramVersion)
        .where(ProgramVersion.program_id == program_id)
        .order_by(
            (ProgramVersion.status == VersionStatus.archived).asc(), ProgramVersion.number.desc()
        )
        .limit(1)
    )


#: audit actions whose comment is the English summary of a draft's changes
#: (:func:`server.programs.commands._store_document`)
CHANGE_ACTIONS = frozenset(
    f"program_version.{action}"
    for action in (
        "save",
        "save_yaml",
        "rule_add",
        "rule_edit",
        "rule_delete",
        "rule_move",
        "enrolment",
    )
)


def snapshot_changes(
    before: dict[str, Any] | None, after: dict[str, Any] | None, lang: str, currency: str
) -> list[str] | None:
    """A saved draft's changes in ``lang``, from the audit entry's two snapshots
    (:func:`server.programs.commands.version_snapshot`); None when they do not hold
    two readable programs (an entry older than its rules' templates, say)."""
    if not before or not after or "rules" not in before or "rules" not in after:
        return None
    try:
        old, new = (
            parse_program(
                {
                    "program": "audit",
                    "currency": currency,
                    "rules": snapshot["rules"],
                    "enrolment": snapshot.get("enrolment"),
                }
            )
            for snapshot in (before, after)
        )
    except ProgramError:
        return None
    return diff_programs(old, new, lang).summary()


def deployment_currency() -> str:
    """The currency every program of this deployment uses (spec §6); RUB before any."""
    return next(iter(deployment_currencies()), "RUB")


def deployment_currencies() -> list[str]:
    """The currencies the stored programs pay in (one, unless data predates the check)."""
    return list(
        db.session.scalars(sa.select(Program.currency).distinct().order_by(Program.currency))
    )


def version_enrolment(version: ProgramVersion) -> Enrolment:
    """Who a stored version enrols (everybody when it names nobody)."""
    return _enrolment(version.enrolment)


def _enrolment(named: dict[str, Any] | None) -> Enrolment:
    return Enrolment(**{key: tuple(values) for key, values in (named or {}).items()})


def enrolment_in_words(named: dict[str, Any] | None) -> str:
    """A stored enrolment (``program_versions.enrolment``) in the user's language."""
    return describe_enrolment(_enrolment(named), current_language())


def partner_enrolled(enrolment: Enrolment, partner: Partner) -> bool:
    """Whether a stored partner takes part under ``enrolment`` (``spec/rules.md`` §6)."""
    return enrolment.includes(
        partner.code,
        partner.region.code if partner.region else None,
        partner.kind.value,
        partner.tags or (),
    )


@dataclass(frozen=True)
class Membership:
    """A partner in a program: since when (the first day of the run of published
    versions that enrol it, up to the version in force; a later day when only a version
    scheduled after ``on`` enrols it) and the version that does."""

    program: Program
    partner: Partner
    since: date
    version: ProgramVersion


def _membership(
    versions: list[ProgramVersion], partner: Partner, on: date
) -> tuple[date, ProgramVersion] | None:
    """``versions``: a program's published versions, oldest first."""
    dated = [(v.effective_from, v) for v in versions if v.effective_from is not None]
    current = [(day, version) for day, version in dated if day <= on]
    since = None
    for day, version in reversed(current):
        if not partner_enrolled(version_enrolment(version), partner):
            break
        since = day
    if since is not None:
        return since, current[-1][1]
    for day, version in dated:
        if day > on and partner_enrolled(version_enrolment(version), partner):
            return day, version
    return None


def _published_by_program(program_ids: list[int] | None = None) -> dict[int, list[ProgramVersion]]:
    query = (
        sa.select(ProgramVersion)
        .where(ProgramVersion.status == VersionStatus.published)
        .order_by(ProgramVersion.effective_from, ProgramVersion.number)
    )
    if program_ids is not None:
        query = query.where(ProgramVersion.program_id.in_(program_ids))
    out: dict[int, list[ProgramVersion]] = {}
    for version in db.session.scalars(query):
        out.setdefault(version.program_id, []).append(version)
    return out


def programs_of_partner(
    partner: Partner, on: date, exclude: set[int] | None = None
) -> list[Membership]:
    """The programs a partner takes part in on ``on`` (or from a scheduled version), by
    title; ``exclude``: program ids left out (campaigns' own programs)."""
    out = []
    for program_id, versions in _published_by_program().items():
        if exclude and program_id in exclude:
            continue
        found = _membership(versions, partner, on)
        if found is not None:
            out.append(Membership(versions[0].program, partner, found[0], found[1]))
    return sorted(out, key=lambda m: m.program.title)


def partners_of_program(program: Program, on: date) -> list[Membership]:
    """The partners a program enrols on ``on`` (or from a scheduled version), by code."""
    versions = _published_by_program([program.id]).get(program.id, [])
    partners = db.session.scalars(
        sa.select(Partner).options(selectinload(Partner.region)).order_by(Partner.code)
    ).all()
    out = []
    for partner in partners:
        found = _membership(versions, partner, on)
        if found is not None:
            out.append(Membership(program, partner, found[0], found[1]))
    return out
