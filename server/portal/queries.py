"""What a partner sees of its own account: every query takes the partner's id and
filters by it, so no portal path can reach another partner's rows."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date
from flask_babel import lazy_gettext as _l

from server.campaigns.models import Campaign, CampaignStatus
from server.documents.models import Contract, ContractStatus, RenderStatus
from server.documents.snapshot import CURRENCY_SIGN, scope_may_apply
from server.extensions import db
from server.i18n import current_language
from server.ledger.holds import awaiting_review_filter
from server.ledger.models import (
    Accrual,
    AccrualKind,
    AccrualStatus,
    PeriodFiguresRow,
    SalesEvent,
)
from server.partners.models import AttributionCode, Partner, PartnerUser
from server.programs.models import Program, ProgramVersion, RuleInstance, VersionStatus
from server.programs.queries import (
    partner_enrolled,
    rule_in_plain_words,
    rule_template_title,
    version_enrolment,
    version_in_force,
    version_spec,
)
from server.rules.plain_words import describe_rule
from server.rules.program import GoalParams, Metric, Period, Rule, TieredParams
from server.rules.templates import default_catalogue
from server.spreadsheet import UTF8_BOM, cell
from server.statements.models import Statement, StatementStatus

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
#: :data:`CSV_COLUMNS` as a partner reads them (the portal's export)
CSV_HEADERS = (
    _l("Accrual id"),
    _l("Time (UTC)"),
    _l("Event"),
    _l("Order"),
    _l("Channel"),
    _l("Rule"),
    _l("Kind"),
    _l("Status"),
    _l("Amount"),
    _l("Points"),
    _l("Level"),
    _l("Reason"),
    _l("Reverses sale"),
    _l("Reward"),
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
            rule_template_title(rule), rule_in_plain_words(rule)
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


def accruals_csv(
    partner: Partner,
    filters: AccrualFilter,
    headers: Sequence[str] = CSV_COLUMNS,
    word: Callable[[object], str] = str,
) -> Iterator[bytes]:
    """The filtered accruals as CSV (UTF-8 with BOM, plain decimals, ISO 8601 UTC).

    A partner reads it: the view passes ``headers`` (one per :data:`CSV_COLUMNS`) and
    ``word`` (a stored value — kind, status, channel — in words) in the reader's
    language; the defaults are the machine names.

    The query is built here, from the partner as the view loaded it; the rows are read as
    the body is sent, which a WSGI server does after the view's session has ended.
    """
    query = _accrual_query(partner, filters).order_by(Accrual.occurred_at, Accrual.id)
    return _csv_body(query, headers, word)


def _csv_body(
    query: sa.Select[Accrual, SalesEvent], headers: Sequence[str], word: Callable[[object], str]
) -> Iterator[bytes]:
    yield UTF8_BOM.encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for accrual, event in db.session.execute(query.execution_options(yield_per=1000)):
        writer.writerow(
            [
                accrual.id,
                accrual.occurred_at.isoformat() if accrual.occurred_at else "",
                cell(event.external_id if event else ""),
                cell(event.order_id if event else ""),
                cell(word(event.channel) if event and event.channel else ""),
                cell(accrual.rule_key),
                word(accrual.kind.value),
                word(STATUS_WORDS.get(accrual.status, accrual.status.value)),
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


@dataclass(frozen=True)
class TierStanding:
    """Where the partner stands on a tiered rule in a month: the month-to-date sales
    the engine counted, the rate reached (None: below the first tier) and the next tier."""

    kind = "tier"

    rule: str
    period: str
    current: bool
    sales: Decimal
    rate: Decimal | None
    next_rate: Decimal | None
    next_from: Decimal | None

    @property
    def to_next(self) -> Decimal | None:
        """Sales still needed for the next tier (None at the top tier)."""
        return None if self.next_from is None else self.next_from - self.sales


@dataclass(frozen=True)
class GoalStanding:
    """A goal rule's progress in a period: the metric's value the engine counted, the
    threshold, and whether the goal was reached (its bonus paid once)."""

    kind = "goal"

    rule: str
    period: str
    current: bool
    metric: str
    money: bool
    value: Decimal
    threshold: Decimal
    reached: bool

    @property
    def remaining(self) -> Decimal:
        return max(self.threshold - self.value, Decimal(0))


@dataclass(frozen=True)
class ProgramStanding:
    """A program on the partner's «My programs» page: its title (a campaign's own program
    is titled by its campaign), its rules that may cover the partner in plain words,
    what the partner earned from it and where it stands on its tiers and goals."""

    slug: str
    title: str
    campaign: bool
    version: int | None
    effective_from: date | None
    rules: list[dict[str, Any]]
    payable: Decimal
    held: Decimal
    accruals: int
    standing: list[TierStanding | GoalStanding]


def _period_words(label: str, language: str) -> str:
    """``2026-11`` → «ноябрь 2026», ``2026-Q4`` → «4-й квартал 2026»."""
    year, _, rest = label.partition("-")
    if rest.startswith("Q"):
        first = date(int(year), (int(rest[1:]) - 1) * 3 + 1, 1)
        return format_date(first, "QQQQ yyyy", locale=language)
    return format_date(date(int(year), int(rest), 1), "LLLL yyyy", locale=language)


def _period_label(day: date, period: Period) -> str:
    if period is Period.QUARTER:
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}-{day.month:02d}"


def _figures(
    program: Program, rule: Rule, partner: Partner, period: Period, today: date
) -> tuple[str, bool, PeriodFiguresRow | None]:
    """(period label, is it the current period, figures): this period's figures, else
    the latest period the engine counted for the partner (none: the current period)."""
    key = f"{program.slug}/{rule.id}"
    current = _period_label(today, period)
    rows = db.session.scalars(
        sa.select(PeriodFiguresRow)
        .where(
            PeriodFiguresRow.rule == key,
            PeriodFiguresRow.partner == partner.code,
            PeriodFiguresRow.period <= current,
        )
        .order_by(PeriodFiguresRow.period.desc())
    ).all()
    shaped = [row for row in rows if ("Q" in row.period) == (period is Period.QUARTER)]
    if not shaped:
        return current, True, None
    return shaped[0].period, shaped[0].period == current, shaped[0]


def _standing(
    program: Program, rules: Sequence[Rule], partner: Partner, language: str, today: date
) -> list[TierStanding | GoalStanding]:
    catalogue = default_catalogue()
    out: list[TierStanding | GoalStanding] = []
    for rule in rules:
        settings = rule.settings
        title = catalogue.title_of(rule.template, language)
        if isinstance(settings, TieredParams):
            label, current, row = _figures(program, rule, partner, Period.MONTH, today)
            sales = row.sales_amount if row is not None else ZERO
            reached = [tier for tier in settings.tiers if tier.start <= sales]
            above = [tier for tier in settings.tiers if tier.start > sales]
            out.append(
                TierStanding(
                    rule=title,
                    period=_period_words(label, language),
                    current=current,
                    sales=sales,
                    rate=reached[-1].rate if reached else None,
                    next_rate=above[0].rate if above else None,
                    next_from=above[0].start if above else None,
                )
            )
        elif isinstance(settings, GoalParams):
            label, current, row = _figures(program, rule, partner, settings.period, today)
            value = Decimal(0)
            if row is not None:
                value = {
                    Metric.SALES_AMOUNT: row.sales_amount,
                    Metric.SALES_COUNT: Decimal(row.sales_count),
                    Metric.NEW_CUSTOMERS: Decimal(row.new_customers),
                }[settings.metric]
            words = (
                catalogue[rule.template].value_labels.get("metric", {})
                if (rule.template in catalogue)
                else {}
            )
            out.append(
                GoalStanding(
                    rule=title,
                    period=_period_words(label, language),
                    current=current,
                    metric=words.get(settings.metric.value, {}).get(
                        language, settings.metric.value
                    ),
                    money=settings.metric is Metric.SALES_AMOUNT,
                    value=value,
                    threshold=settings.threshold,
                    reached=bool(row is not None and row.goal_paid),
                )
            )
    return out


def my_programs(partner: Partner, language: str, today: date) -> list[ProgramStanding]:
    """The programs the partner takes part in, for «My programs»: every program with a
    version in force on ``today`` that enrols the partner (``spec/rules.md`` §6) with a
    rule that may cover it (a rule's scope narrows the enrolment), and every program
    the partner earned from. A campaign's own program is listed while its campaign is not
    closed, or once the partner earned from it. Programs first, by title; then
    campaigns, by title.
    """
    catalogue = default_catalogue()
    earned: dict[int, tuple[Decimal, Decimal, int]] = {}
    for program_id, payable, held, count in db.session.execute(
        sa.select(
            Accrual.program_id,
            sa.func.coalesce(
                sa.func.sum(
                    sa.case((Accrual.status == AccrualStatus.approved, Accrual.amount), else_=0)
                ),
                ZERO,
            ),
            sa.func.coalesce(
                sa.func.sum(sa.case((awaiting_review_filter(), Accrual.amount), else_=0)), ZERO
            ),
            sa.func.count(Accrual.id),
        )
        .where(Accrual.partner_id == partner.id, Accrual.program_id.is_not(None))
        .group_by(Accrual.program_id)
    ):
        earned[program_id] = (Decimal(payable), Decimal(held), int(count))
    campaigns = {
        campaign.rules_program_id: campaign
        for campaign in db.session.scalars(
            sa.select(Campaign).where(Campaign.rules_program_id.is_not(None))
        )
    }
    region, kind = partner.region.code, partner.kind.value
    result: list[ProgramStanding] = []
    for program in db.session.scalars(sa.select(Program).order_by(Program.id)):
        campaign = campaigns.get(program.id)
        version = version_in_force(program.id, today)
        if version is None and program.id in earned:
            version = db.session.scalar(
                sa.select(ProgramVersion)
                .where(
                    ProgramVersion.program_id == program.id,
                    ProgramVersion.status != VersionStatus.draft,
                )
                .order_by(ProgramVersion.number.desc())
                .limit(1)
            )
        spec = version_spec(version) if version is not None else None
        covering = [
            rule
            for rule in (spec.rules if spec is not None else ())
            if scope_may_apply(rule.scope, region, kind, partner.code)
        ]
        enrolled = version is not None and partner_enrolled(version_enrolment(version), partner)
        taking_part = (
            enrolled
            and any(not rule.is_hold for rule in covering)
            and (campaign is None or campaign.status is not CampaignStatus.closed)
        )
        if not taking_part and program.id not in earned:
            continue
        payable, held, count = earned.get(program.id, (ZERO, ZERO, 0))
        result.append(
            ProgramStanding(
                slug=program.slug,
                title=campaign.title if campaign is not None else program.title,
                campaign=campaign is not None,
                version=version.number if version is not None else None,
                effective_from=version.effective_from if version is not None else None,
                rules=[
                    {
                        "key": rule.id,
                        "hold": rule.is_hold,
                        "text": describe_rule(rule, catalogue, language, CURRENCY_SIGN),
                    }
                    for rule in covering
                ],
                payable=payable,
                held=held,
                accruals=count,
                standing=_standing(program, covering, partner, language, today),
            )
        )
    return sorted(result, key=lambda p: (p.campaign, p.title, p.slug))


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


#: a ready statement is "new" on the portal's first page for this many days
NEW_STATEMENT_DAYS = 31


@dataclass(frozen=True)
class PartnerTodos:
    """What the portal's first page asks a partner to do."""

    #: contracts sent to the partner and not yet signed
    documents_to_sign: int
    #: statements ready in the last :data:`NEW_STATEMENT_DAYS` days
    statements_new: int


def partner_todos(partner_id: int, now: datetime) -> PartnerTodos:
    """The partner's to-dos, read live (two small indexed counts)."""
    to_sign = db.session.scalar(
        sa.select(sa.func.count(Contract.id)).where(
            Contract.partner_id == partner_id,
            Contract.status == ContractStatus.sent,
            Contract.render_status == RenderStatus.rendered,
        )
    )
    new = db.session.scalar(
        sa.select(sa.func.count(Statement.id)).where(
            Statement.partner_id == partner_id,
            Statement.status == StatementStatus.ready,
            Statement.created_at >= now - timedelta(days=NEW_STATEMENT_DAYS),
        )
    )
    return PartnerTodos(documents_to_sign=int(to_sign or 0), statements_new=int(new or 0))


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
