"""Daily KPI rollups: the dashboards read these small tables instead of the raw ledger.

At a million accruals a GROUP BY over the raw rows takes 100–200 ms per figure; the
rollups hold one row per (UTC day, region, partner kind, channel[, campaign]), a few
tens of thousands in all, so every dashboard query reads little.

:func:`refresh_rollups` keeps them current incrementally. The ledger is append-only
and events change only when processed (``processed_at``), so the days to recompute are
the days of events processed and accruals written since the last refresh (less a safety
margin for transactions that committed late). Those days are recomputed whole (delete +
``INSERT … SELECT … GROUP BY``), so refreshing twice, or overlapping, changes nothing.
A customer's first sale is kept per customer and recomputed for customers with new
sales, so a late sale that predates the known first one moves it.

The first page's all-time figures (sales, approved accruals, holds awaiting review, the
partner ranking) come from one row per partner (:class:`KpiPartnerTotal`), recomputed
whole for the partners with events processed or accruals written since the last
refresh. A hold decision always writes a ledger row (a release or a forfeit) for the
held row's partner, so the partner it takes a hold from is recomputed too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from server.dashboards.models import (
    KpiAccrualDay,
    KpiCampaignDay,
    KpiEventDay,
    KpiFirstSale,
    KpiPartnerTotal,
    KpiRefresh,
)
from server.db.types import utcnow
from server.extensions import db
from server.ledger.holds import awaiting_review_filter
from server.ledger.models import (
    Accrual,
    AccrualKind,
    AccrualStatus,
    EventStatus,
    EventType,
    SalesEvent,
)
from server.partners.models import Partner
from server.programs.models import RuleInstance

#: rows committed this long after their timestamps are still picked up
SAFETY_MARGIN = timedelta(minutes=10)
#: customers recomputed per statement when first sales are refreshed
CUSTOMER_CHUNK = 5000
#: rollups older than this are refreshed in the background (the page says "as of")
STALE_AFTER = timedelta(seconds=60)
#: partners recomputed per statement when partner totals are refreshed
PARTNER_CHUNK = 5000
#: the partner id of processed sales that name no partner, in :class:`KpiPartnerTotal`
NO_PARTNER = 0


def day_of(column: Any) -> Any:
    """The UTC calendar day of an instant column, in SQL."""
    if db.engine.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def _bounds(days: tuple[date, date] | None, column: Any) -> list[Any]:
    if days is None:
        return []
    start = datetime.combine(days[0], time.min, UTC)
    end = datetime.combine(days[1] + timedelta(days=1), time.min, UTC)
    return [column >= start, column < end]


def _channel(column: Any) -> Any:
    # a literal, not a bound parameter: PostgreSQL must see the same GROUP BY expression
    return sa.func.coalesce(column, sa.literal_column("''"))


def _kind() -> Any:
    # the stored enum value (a plain string column underneath)
    return sa.cast(Partner.kind, sa.String(32))


def _rebuild_events(days: tuple[date, date] | None) -> None:
    day = day_of(SalesEvent.occurred_at)
    is_sale = SalesEvent.type == EventType.sale
    select = (
        sa.select(
            day,
            Partner.region_id,
            _kind(),
            _channel(SalesEvent.channel),
            sa.func.count(SalesEvent.id).filter(is_sale),
            sa.func.coalesce(sa.func.sum(SalesEvent.amount).filter(is_sale), 0),
            sa.func.count(SalesEvent.id).filter(SalesEvent.type == EventType.lead),
        )
        .join(Partner, Partner.id == SalesEvent.partner_id)
        .where(
            SalesEvent.type.in_([EventType.sale, EventType.lead]),
            SalesEvent.status == EventStatus.processed,
            SalesEvent.occurred_at.is_not(None),
            *_bounds(days, SalesEvent.occurred_at),
        )
        .group_by(day, Partner.region_id, _kind(), _channel(SalesEvent.channel))
    )
    target = KpiEventDay.__table__
    db.session.execute(
        sa.insert(target).from_select(
            ["day", "region_id", "partner_kind", "channel", "sales_count", "sales_amount", "leads"],
            select,
        )
    )


def _rebuild_accruals(days: tuple[date, date] | None) -> None:
    day = day_of(Accrual.occurred_at)
    campaign = sa.func.coalesce(RuleInstance.campaign_id, sa.literal_column("0"))
    channel = _channel(SalesEvent.channel)
    select = (
        sa.select(day, Partner.region_id, _kind(), channel, campaign, sa.func.sum(Accrual.amount))
        .join(Partner, Partner.id == Accrual.partner_id)
        .outerjoin(SalesEvent, SalesEvent.id == Accrual.event_id)
        .outerjoin(RuleInstance, RuleInstance.id == Accrual.rule_instance_id)
        .where(
            Accrual.status == AccrualStatus.approved,
            Accrual.kind != AccrualKind.payout,
            Accrual.occurred_at.is_not(None),
            *_bounds(days, Accrual.occurred_at),
        )
        .group_by(day, Partner.region_id, _kind(), channel, campaign)
    )
    db.session.execute(
        sa.insert(KpiAccrualDay.__table__).from_select(
            ["day", "region_id", "partner_kind", "channel", "campaign_id", "accrued"], select
        )
    )
    pairs = (
        sa.select(RuleInstance.campaign_id.label("campaign_id"), Accrual.event_id)
        .join(RuleInstance, RuleInstance.id == Accrual.rule_instance_id)
        .where(RuleInstance.campaign_id.is_not(None))
        .distinct()
        .subquery()
    )
    event_day = day_of(SalesEvent.occurred_at)
    campaign_sales = (
        sa.select(
            event_day,
            pairs.c.campaign_id,
            sa.func.count(SalesEvent.id),
            sa.func.sum(SalesEvent.amount),
        )
        .select_from(pairs)
        .join(SalesEvent, SalesEvent.id == pairs.c.event_id)
        .where(
            SalesEvent.type == EventType.sale,
            SalesEvent.status == EventStatus.processed,
            SalesEvent.occurred_at.is_not(None),
            *_bounds(days, SalesEvent.occurred_at),
        )
        .group_by(event_day, pairs.c.campaign_id)
    )
    db.session.execute(
        sa.insert(KpiCampaignDay.__table__).from_select(
            ["day", "campaign_id", "sales_count", "sales_amount"], campaign_sales
        )
    )


def _first_sales(customers: list[str] | None) -> None:
    """Recompute the first sale of ``customers`` (all customers with None)."""
    first = (
        sa.select(
            SalesEvent.customer.label("customer"),
            sa.func.min(SalesEvent.occurred_at).label("first_at"),
        )
        .where(
            SalesEvent.type == EventType.sale,
            SalesEvent.status == EventStatus.processed,
            SalesEvent.customer.is_not(None),
            SalesEvent.occurred_at.is_not(None),
        )
        .group_by(SalesEvent.customer)
    )
    chunks: list[list[str] | None] = (
        [None]
        if customers is None
        else [customers[i : i + CUSTOMER_CHUNK] for i in range(0, len(customers), CUSTOMER_CHUNK)]
    )
    for chunk in chunks:
        query = first if chunk is None else first.where(SalesEvent.customer.in_(chunk))
        firsts = query.subquery()
        # the partner and channel of that first sale (lowest id on a tie)
        ranked = (
            sa.select(
                firsts.c.customer,
                day_of(firsts.c.first_at),
                Partner.region_id,
                _kind(),
                _channel(SalesEvent.channel),
                sa.func.row_number()
                .over(partition_by=firsts.c.customer, order_by=SalesEvent.id)
                .label("rank"),
            )
            .join(
                SalesEvent,
                sa.and_(
                    SalesEvent.customer == firsts.c.customer,
                    SalesEvent.occurred_at == firsts.c.first_at,
                    SalesEvent.type == EventType.sale,
                    SalesEvent.status == EventStatus.processed,
                ),
            )
            .join(Partner, Partner.id == SalesEvent.partner_id)
            .subquery()
        )
        if chunk is not None:
            db.session.execute(sa.delete(KpiFirstSale).where(KpiFirstSale.customer.in_(chunk)))
        columns = list(ranked.c)[:5]
        db.session.execute(
            sa.insert(KpiFirstSale.__table__).from_select(
                ["customer", "day", "region_id", "partner_kind", "channel"],
                sa.select(*columns).where(ranked.c.rank == 1),
            )
        )


def _rebuild_partner_totals(partner_ids: list[int] | None) -> None:
    """Recompute the totals of ``partner_ids`` (every partner with None), whole."""
    chunks: list[list[int] | None] = (
        [None]
        if partner_ids is None
        else [partner_ids[i : i + PARTNER_CHUNK] for i in range(0, len(partner_ids), PARTNER_CHUNK)]
    )
    # literals, not bound parameters: PostgreSQL must see the same GROUP BY expression
    zero: Any = sa.literal_column("0")
    owner = sa.func.coalesce(SalesEvent.partner_id, sa.literal_column(str(NO_PARTNER)))
    for chunk in chunks:
        sales = sa.select(
            owner.label("partner_id"),
            sa.func.count(SalesEvent.id).label("sales_count"),
            sa.func.sum(SalesEvent.amount).label("sales_amount"),
            zero.label("approved"),
            zero.label("approved_rows"),
            zero.label("awaiting_review"),
        ).where(SalesEvent.type == EventType.sale, SalesEvent.status == EventStatus.processed)
        approved = sa.select(
            Accrual.partner_id.label("partner_id"),
            zero.label("sales_count"),
            zero.label("sales_amount"),
            sa.func.sum(Accrual.amount).label("approved"),
            sa.func.count(Accrual.id).label("approved_rows"),
            zero.label("awaiting_review"),
        ).where(Accrual.status == AccrualStatus.approved)
        # a hold's reversals belong to the hold's partner: a partner is recomputed whole
        awaiting = sa.select(
            Accrual.partner_id.label("partner_id"),
            zero.label("sales_count"),
            zero.label("sales_amount"),
            zero.label("approved"),
            zero.label("approved_rows"),
            sa.func.sum(Accrual.amount).label("awaiting_review"),
        ).where(awaiting_review_filter())
        if chunk is not None:
            named = [pid for pid in chunk if pid != NO_PARTNER]
            in_chunk = SalesEvent.partner_id.in_(named)
            sales = sales.where(
                sa.or_(in_chunk, SalesEvent.partner_id.is_(None))
                if NO_PARTNER in chunk
                else in_chunk
            )
            approved = approved.where(Accrual.partner_id.in_(named))
            awaiting = awaiting.where(Accrual.partner_id.in_(named))
            db.session.execute(
                sa.delete(KpiPartnerTotal).where(KpiPartnerTotal.partner_id.in_(chunk))
            )
        parts = sa.union_all(
            sales.group_by(owner),
            approved.group_by(Accrual.partner_id),
            awaiting.group_by(Accrual.partner_id),
        ).subquery()
        db.session.execute(
            sa.insert(KpiPartnerTotal.__table__).from_select(
                [
                    "partner_id",
                    "sales_count",
                    "sales_amount",
                    "approved",
                    "approved_rows",
                    "awaiting_review",
                ],
                sa.select(
                    parts.c.partner_id,
                    *(sa.func.coalesce(sa.func.sum(column), zero) for column in list(parts.c)[1:]),
                ).group_by(parts.c.partner_id),
            )
        )


def _touched_partners(since: datetime) -> list[int]:
    """Partners with events processed or ledger rows written after ``since``."""
    from_events = sa.select(
        sa.func.coalesce(SalesEvent.partner_id, sa.literal_column(str(NO_PARTNER)))
    ).where(SalesEvent.processed_at > since)
    from_ledger = sa.select(Accrual.partner_id).where(Accrual.created_at > since)
    return sorted(set(db.session.scalars(sa.union(from_events, from_ledger))))


def _touched_days(since: datetime) -> tuple[date, date] | None:
    events = db.session.execute(
        sa.select(sa.func.min(SalesEvent.occurred_at), sa.func.max(SalesEvent.occurred_at)).where(
            SalesEvent.processed_at > since
        )
    ).one()
    accruals = db.session.execute(
        sa.select(sa.func.min(Accrual.occurred_at), sa.func.max(Accrual.occurred_at)).where(
            Accrual.created_at > since
        )
    ).one()
    lows = [value for value in (events[0], accruals[0]) if value is not None]
    highs = [value for value in (events[1], accruals[1]) if value is not None]
    if not lows:
        return None
    return min(lows).astimezone(UTC).date(), max(highs).astimezone(UTC).date()


def refreshed_at() -> datetime | None:
    """When the rollups were last refreshed (None: never built)."""
    return db.session.scalar(sa.select(KpiRefresh.refreshed_at).where(KpiRefresh.id == 1))


def rollups_state() -> tuple[datetime | None, bool]:
    """(when the rollups were last refreshed, whether that is recent enough for a
    dashboard: within :data:`STALE_AFTER`); ``(None, False)`` if never built."""
    moment = refreshed_at()
    return moment, moment is not None and utcnow() - moment <= STALE_AFTER


def refresh_rollups(now: datetime | None = None) -> None:
    """Bring the KPI rollups up to date (a full rebuild the first time); commit.

    Concurrent refreshes serialize on the state row.
    """
    moment = now or utcnow()
    state = db.session.scalar(sa.select(KpiRefresh).where(KpiRefresh.id == 1).with_for_update())
    if state is None:
        state = KpiRefresh(id=1, refreshed_at=None)
        db.session.add(state)
        db.session.flush()
    tables = (KpiEventDay, KpiAccrualDay, KpiCampaignDay)
    if state.refreshed_at is None:
        for table in (*tables, KpiFirstSale, KpiPartnerTotal):
            db.session.execute(sa.delete(table))
        _rebuild_events(None)
        _rebuild_accruals(None)
        _first_sales(None)
        _rebuild_partner_totals(None)
    else:
        since = state.refreshed_at - SAFETY_MARGIN
        days = _touched_days(since)
        if days is not None:
            for table in tables:
                db.session.execute(
                    sa.delete(table).where(table.day >= days[0], table.day <= days[1])
                )
            _rebuild_events(days)
            _rebuild_accruals(days)
            customers = db.session.scalars(
                sa.select(SalesEvent.customer)
                .where(SalesEvent.processed_at > since, SalesEvent.customer.is_not(None))
                .distinct()
            ).all()
            _first_sales([c for c in customers if c is not None])
        partners = _touched_partners(since)
        if partners:
            _rebuild_partner_totals(partners)
    state.refreshed_at = moment
    db.session.commit()
