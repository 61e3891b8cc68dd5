"""Commands over programs: import a program file as a new version, publish it.

A published version is never edited; the version in force on a date is the published
version with the latest ``effective_from`` on or before that date.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.programs.models import Program, ProgramVersion, RuleInstance, VersionStatus
from server.rules.plain_words import describe_rule
from server.rules.program import Program as ProgramSpec
from server.rules.program import parse_program
from server.rules.templates import default_catalogue


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


def add_program_version(
    spec: ProgramSpec,
    *,
    publish: bool = False,
    effective_from: date | None = None,
    actor_id: int | None = None,
    note: str | None = None,
) -> ProgramVersion:
    """Store a validated program as the next version of its program (created if new).

    Raises:
        CommandError: publishing without an effective date.
    """
    if publish and effective_from is None:
        raise CommandError("A published version needs an effective-from date.")
    program = db.session.scalar(sa.select(Program).where(Program.slug == spec.slug))
    if program is None:
        program = Program(slug=spec.slug, title=spec.title or spec.slug, currency=spec.currency)
        db.session.add(program)
        db.session.flush()
    number = (
        db.session.scalar(
            sa.select(sa.func.max(ProgramVersion.number)).where(
                ProgramVersion.program_id == program.id
            )
        )
        or 0
    ) + 1
    version = ProgramVersion(
        program_id=program.id,
        number=number,
        status=VersionStatus.draft,
        effective_from=effective_from,
        created_by_id=actor_id,
        note=note,
    )
    version.rules.extend(rule_instances(spec))
    db.session.add(version)
    if publish:
        version.status = VersionStatus.published
        version.published_at = utcnow()
    db.session.commit()
    return version


def version_document(version: ProgramVersion) -> dict[str, Any]:
    """A stored version as the spec's program document."""
    return _program_document(version.program, [_rule_entry(rule) for rule in version.rules])


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
