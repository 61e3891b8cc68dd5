"""Period closes and statements: close a period, render a statement once, find its PDF.

A close records its instant (``closed_at``) and adds one ``pending`` statement per
partner with rows to show, with opening and closing balances computed in SQL, in one
transaction; renders run as rq jobs that its caller queues
(``tasks/statements.py``). Which rows a statement shows is fixed by the close
(see :mod:`server.statements.models`), so a job that runs late, twice, or after a worker
crash renders the same lines, and a rendered statement is never rendered again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from jinja2 import TemplateError

from server.audit.commands import record
from server.campaigns.models import Campaign
from server.db.types import utcnow
from server.documents.contracts import company_details, template_source
from server.documents.models import Contract, ContractStatus, TemplateKind
from server.documents.pdf import DocumentRenderError
from server.documents.rendering import render_document
from server.documents.snapshot import CURRENCY_SIGN, partner_data, scope_may_apply
from server.documents.storage import StoredFileError, files_dir, stored_file, write_once
from server.documents.templates import assets_dir, select_template
from server.errors import CommandError
from server.extensions import db
from server.labels import format_day
from server.ledger.holds import serialize_with_evaluation
from server.ledger.models import Accrual, AccrualStatus, SalesEvent
from server.partners.models import Partner
from server.partners.terms import terms_in_force
from server.programs.models import Program, ProgramVersion, RuleInstance
from server.programs.queries import version_spec
from server.rules.plain_words import describe_rule
from server.rules.templates import default_catalogue
from server.statements.building import (
    ZERO,
    LedgerLine,
    Opening,
    ProgramInfo,
    ReconciliationError,
    StatementHeader,
    build_statement,
    check_reconciles,
)
from server.statements.models import PeriodClose, Statement, StatementStatus

logger = logging.getLogger(__name__)

#: the time zone periods are cut in, unless ``STATEMENTS_TIMEZONE`` is configured
DEFAULT_TIMEZONE = "Europe/Moscow"
#: keys of the event payload that name the code a sale came through, in order
CODE_FIELDS = ("promo_code", "qr_token", "referral")


class EarlierPeriodsOpen(CommandError):
    """Ledger rows dated before the requested period are in no statement yet.

    ``first_open`` is the first day no close covers; the periods from there up to the
    requested one must be closed first (:func:`open_months_through` lists them).
    """

    def __init__(self, first_open: date, requested_start: date) -> None:
        self.first_open = first_open
        self.requested_start = requested_start
        super().__init__(
            _l(
                "The days from %(first)s to %(last)s have ledger rows that no statement "
                "shows yet. Periods close in order: close those first.",
                first=format_day(first_open),
                last=format_day(requested_start - timedelta(days=1)),
            )
        )


@dataclass(frozen=True)
class Progress:
    """How far the renders of a close have come."""

    total: int
    pending: int
    ready: int
    failed: int

    @property
    def done(self) -> bool:
        return self.pending == 0


def period_timezone() -> str:
    return str(current_app.config.get("STATEMENTS_TIMEZONE") or DEFAULT_TIMEZONE)


def period_bounds(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """The instants ``[start 00:00, end+1 00:00)`` of a period in ``timezone``."""
    zone = ZoneInfo(timezone)
    return (
        datetime.combine(start, time.min, zone),
        datetime.combine(end + timedelta(days=1), time.min, zone),
    )


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of ``day``'s month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _row_instant() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(Accrual.occurred_at, Accrual.created_at)


def covered_by(close: PeriodClose | None) -> sa.ColumnElement[bool]:
    """Rows shown by ``close`` or any earlier statement (all of them, cumulatively)."""
    if close is None:
        return sa.false()
    _, end = period_bounds(close.period_start, close.period_end, close.timezone)
    return sa.and_(Accrual.created_at <= close.closed_at, _row_instant() < end)


def previous_close(close: PeriodClose) -> PeriodClose | None:
    return db.session.scalar(
        sa.select(PeriodClose)
        .where(PeriodClose.period_end < close.period_start)
        .order_by(PeriodClose.period_end.desc())
        .limit(1)
    )


def balances(condition: sa.ColumnElement[bool]) -> dict[int, tuple[Decimal, int]]:
    """Payable (amount, points) per partner over the rows matching ``condition``."""
    rows = db.session.execute(
        sa.select(
            Accrual.partner_id,
            sa.func.coalesce(sa.func.sum(Accrual.amount), ZERO),
            sa.func.coalesce(sa.func.sum(Accrual.points), 0),
        )
        .where(condition, Accrual.status == AccrualStatus.approved)
        .group_by(Accrual.partner_id)
    )
    return {partner: (Decimal(amount), int(points)) for partner, amount, points in rows}


def last_close() -> PeriodClose | None:
    return db.session.scalar(
        sa.select(PeriodClose).order_by(PeriodClose.period_end.desc()).limit(1)
    )


def first_open_day(timezone: str | None = None) -> date | None:
    """The first day no close covers: the day after the last close, else the local date of
    the ledger's earliest row (``None`` for an empty ledger and no close)."""
    last = last_close()
    if last is not None:
        return last.period_end + timedelta(days=1)
    earliest = db.session.scalar(sa.select(sa.func.min(_row_instant())))
    if earliest is None:
        return None
    if earliest.tzinfo is None:  # SQLite hands back naive UTC
        earliest = earliest.replace(tzinfo=UTC)
    return earliest.astimezone(ZoneInfo(timezone or period_timezone())).date()


def _rows_between(first_day: date, before_day: date, timezone: str) -> bool:
    """Whether any ledger row is dated on ``first_day`` … the day before ``before_day``."""
    start, _ = period_bounds(first_day, first_day, timezone)
    end, _ = period_bounds(before_day, before_day, timezone)
    return (
        db.session.scalar(
            sa.select(Accrual.id).where(_row_instant() >= start, _row_instant() < end).limit(1)
        )
        is not None
    )


def _statement_number(code: str, start: date, end: date) -> str:
    if (start, end) == month_of(start):
        return f"{code}-{start:%Y-%m}"
    return f"{code}-{start:%Y%m%d}-{end:%Y%m%d}"


def close_period(
    period_start: date, period_end: date, actor_id: int | None = None, now: datetime | None = None
) -> int:
    """Close a period and add a pending statement per partner with rows to show; commit.

    Returns the close's id; the caller queues the renders
    (``enqueue_close_renders`` in ``tasks/statements.py``).

    Raises:
        CommandError: the dates are reversed, the period has not ended, or it does not
            come after the last closed period.
        EarlierPeriodsOpen: days before the period have rows and no close covers them
            (a statement would bury its month under months of history).
    """
    closed_at = now or utcnow()
    timezone = period_timezone()
    if period_end < period_start:
        raise CommandError(_l("The period ends before it starts."))
    _, end_instant = period_bounds(period_start, period_end, timezone)
    if end_instant > closed_at:
        raise CommandError(_l("The period has not ended yet; close it after its last day."))
    last = last_close()
    if last is not None and period_start <= last.period_end:
        raise CommandError(
            _l(
                "Periods up to %(day)s are closed; a new close starts later.",
                day=format_day(last.period_end),
            )
        )
    first_open = first_open_day(timezone)
    if (
        first_open is not None
        and first_open < period_start
        and _rows_between(first_open, period_start, timezone)
    ):
        raise EarlierPeriodsOpen(first_open, period_start)
    # Wait for running evaluation batches: their rows are either all before the
    # close's instant or all after it.
    serialize_with_evaluation(db.session)
    close = PeriodClose(
        period_start=period_start,
        period_end=period_end,
        closed_at=closed_at,
        closed_by_id=actor_id,
        timezone=timezone,
    )
    db.session.add(close)
    db.session.flush()
    before = previous_close(close)
    opening = balances(covered_by(before))
    closing = balances(covered_by(close))
    active = set(
        db.session.scalars(
            sa.select(Accrual.partner_id)
            .where(covered_by(close), sa.not_(covered_by(before)))
            .distinct()
        )
    )
    partners = active | {pid for pid, (amount, points) in opening.items() if amount or points}
    codes = dict(
        db.session.execute(
            sa.select(Partner.id, Partner.code).where(Partner.id.in_(partners))
        ).all()
    )
    for partner_id in sorted(partners):
        open_amount, open_points = opening.get(partner_id, (ZERO, 0))
        close_amount, close_points = closing.get(partner_id, (ZERO, 0))
        db.session.add(
            Statement(
                partner_id=partner_id,
                period_start=period_start,
                period_end=period_end,
                status=StatementStatus.pending,
                opening_balance=open_amount,
                closing_balance=close_amount,
                totals={
                    "number": _statement_number(codes[partner_id], period_start, period_end),
                    "points_opening": open_points,
                    "points_balance": close_points,
                },
            )
        )
    record(
        actor_id,
        "period.close",
        "period_close",
        close.id,
        after={"period": str(close), "statements": len(partners)},
    )
    db.session.commit()
    return close.id


def open_months_through(period_end: date) -> list[tuple[date, date]]:
    """The periods still to close, in order, up to ``period_end``: from the first open day,
    a month at a time (the first may start mid-month), the last ending on ``period_end``."""
    first = first_open_day()
    if first is None:
        first = period_end.replace(day=1)
    periods: list[tuple[date, date]] = []
    start = first
    while start <= period_end:
        end = min(month_of(start)[1], period_end)
        periods.append((start, end))
        start = end + timedelta(days=1)
    return periods


def close_of(statement: Statement) -> PeriodClose:
    close = db.session.scalar(
        sa.select(PeriodClose).where(
            PeriodClose.period_start == statement.period_start,
            PeriodClose.period_end == statement.period_end,
        )
    )
    if close is None:
        raise CommandError(f"Statement {statement.id} belongs to no recorded close.")
    return close


def _code_used(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    for name in CODE_FIELDS:
        value = payload.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def statement_lines(partner_id: int, close: PeriodClose) -> list[LedgerLine]:
    """The partner's rows a close's statement shows, with their events' facts."""
    before = previous_close(close)
    rows = db.session.execute(
        sa.select(Accrual, SalesEvent, Campaign.slug, Program.slug)
        .outerjoin(SalesEvent, SalesEvent.id == Accrual.event_id)
        .outerjoin(Program, Program.id == Accrual.program_id)
        .outerjoin(RuleInstance, RuleInstance.id == Accrual.rule_instance_id)
        .outerjoin(Campaign, Campaign.id == RuleInstance.campaign_id)
        .where(Accrual.partner_id == partner_id, covered_by(close), sa.not_(covered_by(before)))
        .order_by(Accrual.id)
    ).all()
    return [
        LedgerLine(
            accrual_id=accrual.id,
            kind=accrual.kind.value,
            status=accrual.status.value,
            amount=accrual.amount,
            points=accrual.points or 0,
            at=accrual.occurred_at or accrual.created_at,
            rule_key=accrual.rule_key,
            level=accrual.level,
            reason=accrual.reason,
            reward=accrual.reward,
            reverses=accrual.reverses,
            campaign=campaign,
            channel=event.channel if event is not None else None,
            event_id=event.external_id if event is not None else None,
            order_id=event.order_id if event is not None else None,
            event_amount=event.amount if event is not None else None,
            code=_code_used(event.payload) if event is not None else None,
            decided_id=accrual.reverses_accrual_id,
            program=program,
        )
        for accrual, event, campaign, program in rows
    ]


def _rule_texts(
    version_id: int, language: str, region: str, kind: str, code: str
) -> list[tuple[str, str, str]]:
    """(rule key, plain-words sentence, template title) of a version's rules that may
    apply to the partner."""
    version = db.session.get(ProgramVersion, version_id)
    if version is None:
        return []
    catalogue = default_catalogue()
    return [
        (
            rule.id,
            describe_rule(rule, catalogue, language, CURRENCY_SIGN),
            catalogue.title_of(rule.template, language),
        )
        for rule in version_spec(version).rules
        if scope_may_apply(rule.scope, region, kind, code)
    ]


def _shown_versions(partner: Partner, close: PeriodClose) -> list[ProgramVersion]:
    """The program versions the statement's rows name, oldest first."""
    before = previous_close(close)
    shown = (
        sa.select(Accrual.program_version_id)
        .where(
            Accrual.partner_id == partner.id,
            Accrual.program_version_id.is_not(None),
            covered_by(close),
            sa.not_(covered_by(before)),
        )
        .distinct()
    )
    return list(
        db.session.scalars(
            sa.select(ProgramVersion)
            .where(ProgramVersion.id.in_(shown))
            .order_by(ProgramVersion.id)
        )
    )


def _version_texts(
    versions: list[ProgramVersion], partner: Partner, language: str
) -> tuple[dict[str, str], dict[str, str]]:
    sentences: dict[str, str] = {}
    titles: dict[str, str] = {}
    for version in versions:
        for key, text, title in _rule_texts(
            version.id, language, partner.region.code, partner.kind.value, partner.code
        ):
            sentences.setdefault(key, text)
            titles.setdefault(key, title)
    return sentences, titles


def rule_texts(
    partner: Partner, close: PeriodClose, language: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Plain words and titles of the rules the statement's rows name (from their program
    versions): ``({key: sentence}, {key: title})``."""
    return _version_texts(_shown_versions(partner, close), partner, language)


def statement_programs(partner: Partner, close: PeriodClose, language: str) -> list[ProgramInfo]:
    """The programs the statement's rows name, as its sections title them: programs by
    title, then campaigns' own programs (titled by their campaign) by title; each with
    its own rules' sentences and titles, so two programs' equal rule keys never mix."""
    by_program: dict[int, list[ProgramVersion]] = {}
    for version in _shown_versions(partner, close):
        by_program.setdefault(version.program_id, []).append(version)
    program_ids = set(by_program) | set(
        db.session.scalars(
            sa.select(Accrual.program_id)
            .where(
                Accrual.partner_id == partner.id,
                Accrual.program_id.is_not(None),
                covered_by(close),
                sa.not_(covered_by(previous_close(close))),
            )
            .distinct()
        )
    )
    campaigns = {
        campaign.rules_program_id: campaign
        for campaign in db.session.scalars(
            sa.select(Campaign).where(Campaign.rules_program_id.in_(program_ids))
        )
    }
    infos = []
    for program in db.session.scalars(sa.select(Program).where(Program.id.in_(program_ids))):
        sentences, titles = _version_texts(by_program.get(program.id, []), partner, language)
        campaign = campaigns.get(program.id)
        infos.append(
            ProgramInfo(
                slug=program.slug,
                title=campaign.title if campaign is not None else program.title,
                campaign=campaign is not None,
                rule_sentences=sentences,
                rule_titles=titles,
            )
        )
    return sorted(infos, key=lambda info: (info.campaign, info.title, info.slug))


def statement_data(statement: Statement) -> tuple[dict[str, Any], Any]:
    """(data, template) a statement renders from; the data is checked to reconcile.

    Raises:
        CommandError: no published statement template in the partner's language.
        ReconciliationError: the lines do not add up to the stored balances.
    """
    close = close_of(statement)
    partner = statement.partner
    region = partner.region
    terms = terms_in_force(region.id, statement.period_end)
    language = terms.contract_language if terms is not None else "ru"
    template = select_template(TemplateKind.statement, language, region.code, partner.kind.value)
    if template is None:
        raise CommandError(
            _l("No published statement template in %(language)s.", language=language)
        )
    contract_number = db.session.scalar(
        sa.select(Contract.number)
        .where(Contract.partner_id == partner.id, Contract.status != ContractStatus.terminated)
        .order_by(Contract.id.desc())
        .limit(1)
    )
    header = StatementHeader(
        number=str(statement.totals.get("number") or statement.id),
        issued_on=close.closed_at.astimezone(ZoneInfo(close.timezone)).date(),
        period_start=statement.period_start,
        period_end=statement.period_end,
        timezone=close.timezone,
        language=language,
        partner=partner_data(partner),
        company=company_details(),
        region={
            "code": region.code,
            "name": region.name_ru if language == "ru" else region.name_en,
        },
        terms={
            "payment_terms_days": terms.payment_terms_days if terms else 30,
            "minimum_payout": f"{terms.minimum_payout if terms else ZERO:.2f}",
        },
        contract_number=contract_number,
    )
    opening = Opening(statement.opening_balance, int(statement.totals.get("points_opening", 0)))
    sentences, titles = rule_texts(partner, close, language)
    data = build_statement(
        header,
        statement_lines(partner.id, close),
        opening,
        sentences,
        titles,
        statement_programs(partner, close, language),
    )
    check_reconciles(data, statement.opening_balance, statement.closing_balance)
    return data, template


def _statement_folder(statement: Statement) -> Path:
    period = f"{statement.period_start:%Y%m%d}-{statement.period_end:%Y%m%d}"
    return files_dir() / "statements" / period


def render_statement(statement_id: int) -> StatementStatus:
    """Render a pending statement's PDF once, store it with its SHA-256; commit.

    A ``ready`` statement is left alone. If two workers render the same statement the
    first to commit wins and the other removes its file. Template, layout and
    reconciliation errors mark the statement ``failed`` (returned, not raised).

    Raises:
        CommandError: the statement does not exist.
    """
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        raise CommandError(f"Statement {statement_id} does not exist.")
    if statement.status is StatementStatus.ready:
        return StatementStatus.ready
    try:
        data, template = statement_data(statement)
        document = render_document(template_source(template), data, assets_dir())
    except (CommandError, ReconciliationError, TemplateError, DocumentRenderError) as error:
        db.session.execute(
            sa.update(Statement)
            .where(Statement.id == statement_id, Statement.status != StatementStatus.ready)
            .values(status=StatementStatus.failed, error=str(error)[:2000])
        )
        db.session.commit()
        return StatementStatus.failed
    digest = document.sha256
    path = write_once(
        _statement_folder(statement),
        f"{data['statement']['number']}-{digest[:12]}.pdf",
        document.pdf,
    )
    relative = str(path.relative_to(files_dir()))
    won = db.session.execute(
        sa.update(Statement)
        .where(Statement.id == statement_id, Statement.status != StatementStatus.ready)
        .values(
            status=StatementStatus.ready,
            file_path=relative,
            sha256=digest,
            error=None,
            totals=data["totals"] | {"number": data["statement"]["number"]},
        )
    ).rowcount
    db.session.commit()
    if not won:
        db.session.expire_all()
        kept = db.session.get(Statement, statement_id)
        if kept is not None and kept.file_path != relative:
            path.unlink(missing_ok=True)
    return StatementStatus.ready


def statement_ids(close_id: int, statuses: tuple[StatementStatus, ...] = ()) -> list[int]:
    close = db.session.get(PeriodClose, close_id)
    if close is None:
        raise CommandError(f"Close {close_id} does not exist.")
    query = sa.select(Statement.id).where(
        Statement.period_start == close.period_start, Statement.period_end == close.period_end
    )
    if statuses:
        query = query.where(Statement.status.in_(statuses))
    return list(db.session.scalars(query.order_by(Statement.id)))


def progress(close_id: int) -> Progress:
    """Counts of a close's statements by status (one grouped query)."""
    close = db.session.get(PeriodClose, close_id)
    if close is None:
        raise CommandError(f"Close {close_id} does not exist.")
    counts = dict(
        db.session.execute(
            sa.select(Statement.status, sa.func.count(Statement.id))
            .where(
                Statement.period_start == close.period_start,
                Statement.period_end == close.period_end,
            )
            .group_by(Statement.status)
        ).all()
    )
    pending = counts.get(StatementStatus.pending, 0)
    ready = counts.get(StatementStatus.ready, 0)
    failed = counts.get(StatementStatus.failed, 0)
    return Progress(pending + ready + failed, pending, ready, failed)


def statement_pdf(statement_id: int, partner_id: int | None = None) -> tuple[Path, str]:
    """(path, download name) of a ready statement's verified PDF.

    With ``partner_id`` (the portal), another partner's statement is "not found".

    Raises:
        CommandError: unknown statement (or not the partner's).
        StoredFileError: not rendered yet, or the file no longer matches its hash.
    """
    statement = db.session.get(Statement, statement_id)
    if statement is None or (partner_id is not None and statement.partner_id != partner_id):
        raise CommandError(f"Statement {statement_id} does not exist.")
    if statement.status is not StatementStatus.ready:
        raise StoredFileError("The statement has no PDF yet.")
    path = stored_file(statement.file_path, statement.sha256)
    return path, f"{statement.totals.get('number') or statement.id}.pdf"


def closes() -> list[PeriodClose]:
    """Every close, newest first."""
    return list(db.session.scalars(sa.select(PeriodClose).order_by(PeriodClose.period_end.desc())))
