"""What a partner sees of its own account: every query takes the partner's id and
filters by it, so no portal path can reach another partner's rows."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from server.documents.models import Contract, RenderStatus
from server.documents.snapshot import CURRENCY_SIGN, scope_may_apply
from server.extensions import db
from server.i18n import current_language
from server.ledger.holds import awaiting_review_filter
from server.ledger.models import (
    Accrual,
    AccrualKind,
    AccrualStatus,
    SalesEvent,
    Statement,
    StatementStatus,
)
from server.partners.models import AttributionCode, Partner, PartnerUser
from server.programs.commands import version_in_force, version_spec
from server.programs.models import Program, ProgramVersion, RuleInstance, VersionStatus
from server.rules.plain_words import describe_rule
from server.rules.templates import default_catalogue
from server.spreadsheet import UTF8_BOM, cell

ZERO = Decimal("0.00")
#: accruals per page of the portal's list
PAGE_SIZE = 50
#: the CSV columns of a partner's accrual export (machine-readable names)
CSV_COLUMNS = (
    "id",
    "occurred_at",
    "event",
    "order",
    "channel",
    "rule",
    "kind",
    "status",
    "amount",
    "points",
    "level",
    "reason",
    "reverses",
    "reward",
)


@dataclass(frozen=True)
class Balance:
    payable: Decimal
    held: Decimal
    points: int


@dataclass(frozen=True)
class AccrualFilter:
    """The portal list's filters (all optional)."""

    kind: AccrualKind | None = None
    status: AccrualStatus | None = None
    date_from: date | None = None
    date_to: date | None = None
    rule: str | None = None


def partner_of_user(user_id: int) -> Partner | None:
    """The partner a portal login acts for, or None (then the portal refuses)."""
    return db.session.scalar(
        sa.select(Partner)
        .join(PartnerUser, PartnerUser.partner_id == Partner.id)
        .where(PartnerUser.user_id == user_id)
    )


def balance(partner_id: int) -> Balance:
    """Payable (approved rows), undecided holds and points, as docs/ledger.md defines."""
    payable, points = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(Accrual.amount), ZERO),
            sa.func.coalesce(sa.func.sum(Accrual.points), 0),
        ).where(Accrual.partner_id == partner_id, Accrual.status == AccrualStatus.approved)
    ).one()
    held = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Accrual.amount), ZERO)).where(
            Accrual.partner_id == partner_id, awaiting_review_filter()
        )
    )
    return Balance(Decimal(payable), Decimal(held or 0), int(points))


def _bounds(partner: Partner, start: date | None, end: date | None) -> list[Any]:
    zone = ZoneInfo(partner.region.timezone or "Europe/Moscow")
    conditions: list[Any] = []
    if start is not None:
        conditions.append(Accrual.occurred_at >= datetime.combine(start, time.min, zone))
    if end is not None:
        conditions.append(
            Accrual.occurred_at < datetime.combine(end + timedelta(days=1), time.min, zone)
        )
    return conditions


def _accrual_query(partner: Partner, filters: AccrualFilter) -> sa.Select[Accrual, SalesEvent]:
    query = (
        sa.select(Accrual, SalesEvent)
        .outerjoin(SalesEvent, SalesEvent.id == Accrual.event_id)
        .where(Accrual.partner_id == partner.id)
        .where(*_bounds(partner, filters.date_from, filters.date_to))
    )
    if filters.kind is not None:
        query = query.where(Accrual.kind == filters.kind)
    if filters.status is not None:
        query = query.where(Accrual.status == filters.status)
    if filters.rule:
        query = query.where(Accrual.rule_key == filters.rule)
    return query


def accruals_page(
    partner: Partner, filters: AccrualFilter, page: int = 0
) -> tuple[list[tuple[Accrual, SalesEvent | None]], int]:
    """One page of the partner's accruals, newest first, and the number of matches."""
    query = _accrual_query(partner, filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(Accrual.occurred_at.desc(), Accrual.id.desc())
        .limit(PAGE_SIZE)
        .offset(max(page, 0) * PAGE_SIZE)
    ).all()
    return [(accrual, event) for accrual, event in rows], total


def month_summary(partner: Partner, today: date) -> tuple[Decimal, int]:
    """(sum of amounts, number of rows) of the partner's accruals this month."""
    first = today.replace(day=1)
    amount, count = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Accrual.amount), ZERO), sa.func.count(Accrual.id))
        .where(Accrual.partner_id == partner.id)
        .where(*_bounds(partner, first, today))
    ).one()
    return Decimal(amount), int(count)


@dataclass(frozen=True)
class RuleLabel:
    """How the portal names a rule: its template's title, and the whole rule in plain
    words for a tooltip (partners never see rule keys)."""

    title: str
    words: str


#: accruals' ledger statuses in the portal's words (a hold is a review, to a partner)
STATUS_WORDS = {AccrualStatus.approved: _l("approved"), AccrualStatus.held: _l("under review")}


def rule_labels(accruals: Iterable[Accrual]) -> dict[tuple[int, str], RuleLabel]:
    """The labels, in the user's language, of the rules a page of accruals names by key
    in its program version: the rule that accrued and, for a held row, the hold rule
    its ``reason`` names."""
    wanted = set()
    for accrual in accruals:
        if accrual.program_version_id is None:
            continue
        held = accrual.status is AccrualStatus.held
        for key in (accrual.rule_key, accrual.reason if held else None):
            if key:
                wanted.add((accrual.program_version_id, key))
    if not wanted:
        return {}
    rules = db.session.scalars(
        sa.select(RuleInstance).where(
            RuleInstance.program_version_id.in_({version for version, _key in wanted}),
            RuleInstance.rule_key.in_({key for _version, key in wanted}),
        )
    )
    return {
        (rule.program_version_id, rule.rule_key): RuleLabel(
            rule.template_title(), rule.in_plain_words()
        )
        for rule in rules
        if (rule.program_version_id, rule.rule_key) in wanted
    }


def rule_choices(partner_id: int) -> list[tuple[str, str]]:
    """(rule key, label) for the rules that appear in the partner's accruals, for the
    list's filter. The label is the template's title; where two rules share a title,
    their keys tell them apart."""
    catalogue, language = default_catalogue(), current_language()
    titles: dict[str, set[str]] = {}
    for key, template_key in db.session.execute(
        sa.select(Accrual.rule_key, RuleInstance.template_key)
        .outerjoin(RuleInstance, RuleInstance.id == Accrual.rule_instance_id)
        .where(Accrual.partner_id == partner_id, Accrual.rule_key.is_not(None))
        .distinct()
    ):
        title = catalogue.title_of(template_key, language) if template_key else key
        titles.setdefault(key, set()).add(title)
    labels = {key: ", ".join(sorted(names)) for key, names in titles.items()}
    shared = Counter(labels.values())
    choices = [
        (key, f"{label} ({key})" if shared[label] > 1 else label) for key, label in labels.items()
    ]
    return sorted(choices, key=lambda choice: (choice[1], choice[0]))


def accruals_csv(partner: Partner, filters: AccrualFilter) -> Iterator[bytes]:
    """The filtered accruals as CSV (UTF-8 with BOM, plain decimals, ISO 8601 UTC).

    The query is built here, from the partner as the view loaded it; the rows are read as
    the body is sent, which a WSGI server does after the view's session has ended.
    """
    query = _accrual_query(partner, filters).order_by(Accrual.occurred_at, Accrual.id)
    return _csv_body(query)


def _csv_body(query: sa.Select[Accrual, SalesEvent]) -> Iterator[bytes]:
    yield UTF8_BOM.encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for accrual, event in db.session.execute(query.execution_options(yield_per=1000)):
        writer.writerow(
            [
                accrual.id,
                accrual.occurred_at.isoformat() if accrual.occurred_at else "",
                cell(event.external_id if event else ""),
                cell(event.order_id if event else ""),
                cell(event.channel if event else ""),
                cell(accrual.rule_key),
                accrual.kind.value,
                accrual.status.value,
                f"{accrual.amount:.2f}",
                accrual.points,
                accrual.level if accrual.level is not None else "",
                cell(accrual.reason),
                cell(accrual.reverses),
                cell(accrual.reward),
            ]
        )
        if buffer.tell() > 65536:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def rules_in_words(partner: Partner, language: str, on: date) -> list[dict[str, Any]]:
    """For each program with a published version in force on ``on``: the rules whose
    scope covers the partner, in plain words (the engine's own sentences)."""
    catalogue = default_catalogue()
    result: list[dict[str, Any]] = []
    program_ids = db.session.scalars(
        sa.select(Program.id)
        .join(ProgramVersion, ProgramVersion.program_id == Program.id)
        .where(ProgramVersion.status == VersionStatus.published)
        .distinct()
        .order_by(Program.id)
    ).all()
    for program_id in program_ids:
        version = version_in_force(program_id, on)
        if version is None:
            continue
        rules = [
            {
                "key": rule.id,
                "hold": rule.is_hold,
                "text": describe_rule(rule, catalogue, language, CURRENCY_SIGN),
            }
            for rule in version_spec(version).rules
            if scope_may_apply(rule.scope, partner.region.code, partner.kind.value, partner.code)
        ]
        result.append(
            {
                "title": version.program.title,
                "version": version.number,
                "effective_from": version.effective_from,
                "rules": rules,
            }
        )
    return result


def codes(partner_id: int) -> list[AttributionCode]:
    return list(
        db.session.scalars(
            sa.select(AttributionCode)
            .where(AttributionCode.partner_id == partner_id)
            .order_by(AttributionCode.kind, AttributionCode.id)
        )
    )


def own_code(partner_id: int, code_id: int) -> AttributionCode | None:
    """The partner's code ``code_id``; None if it is unknown or another partner's."""
    return db.session.scalar(
        sa.select(AttributionCode).where(
            AttributionCode.id == code_id, AttributionCode.partner_id == partner_id
        )
    )


def statements(partner_id: int) -> list[Statement]:
    return list(
        db.session.scalars(
            sa.select(Statement)
            .where(Statement.partner_id == partner_id)
            .order_by(Statement.period_end.desc())
        )
    )


def ready_statement_count(partner_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Statement.id)).where(
                Statement.partner_id == partner_id, Statement.status == StatementStatus.ready
            )
        )
        or 0
    )


def contracts(partner_id: int) -> list[Contract]:
    return list(
        db.session.scalars(
            sa.select(Contract)
            .where(Contract.partner_id == partner_id)
            .order_by(Contract.id.desc())
        )
    )


def own_contract(partner_id: int, contract_id: int) -> Contract | None:
    """The partner's rendered contract ``contract_id``; None otherwise."""
    return db.session.scalar(
        sa.select(Contract).where(
            Contract.id == contract_id,
            Contract.partner_id == partner_id,
            Contract.render_status == RenderStatus.rendered,
        )
    )
