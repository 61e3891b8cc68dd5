"""Read-only queries over the ledger (aggregated in SQL, never committed here).

:func:`ledger_overview` and :func:`top_partners` read every row: they define the first
page's figures, which the page itself reads from the rollups
(:mod:`server.dashboards.overview`, equal to these once the rollups are fresh).

"Awaiting review" is the sum of the held rows still awaiting a manager's decision
(:func:`server.ledger.holds.awaiting_review_filter`), not of every held row ever
written: a decided hold counts through its release (approved) or not at all (forfeit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from server.extensions import db
from server.ledger.holds import awaiting_review_filter
from server.ledger.models import Accrual, AccrualStatus, EventStatus, EventType, SalesEvent
from server.partners.models import Partner, PartnerStatus


@dataclass(frozen=True)
class LedgerOverview:
    partners_active: int
    partners_total: int
    sales_count: int
    sales_amount: Decimal
    #: approved rows of every kind (releases and payouts included)
    accrued_approved: Decimal
    #: held rows awaiting a decision, with the held reversals of them
    awaiting_review: Decimal
    events_pending: int
    events_rejected: int


def ledger_overview(since: datetime | None = None) -> LedgerOverview:
    """Counts and sums for the dashboard, optionally from ``since`` on (sales and
    ledger rows by their ``occurred_at``)."""
    session = db.session
    partners_total = session.scalar(sa.select(sa.func.count(Partner.id))) or 0
    partners_active = (
        session.scalar(
            sa.select(sa.func.count(Partner.id)).where(Partner.status == PartnerStatus.active)
        )
        or 0
    )
    sales = sa.select(sa.func.count(SalesEvent.id), sa.func.sum(SalesEvent.amount)).where(
        SalesEvent.type == EventType.sale, SalesEvent.status == EventStatus.processed
    )
    approved = sa.select(sa.func.sum(Accrual.amount)).where(
        Accrual.status == AccrualStatus.approved
    )
    awaiting = sa.select(sa.func.sum(Accrual.amount)).where(awaiting_review_filter())
    if since is not None:
        sales = sales.where(SalesEvent.occurred_at >= since)
        approved = approved.where(Accrual.occurred_at >= since)
        awaiting = awaiting.where(Accrual.occurred_at >= since)
    sales_count, sales_amount = session.execute(sales).one()
    events_by_status = dict(
        session.execute(
            sa.select(SalesEvent.status, sa.func.count(SalesEvent.id)).group_by(SalesEvent.status)
        ).all()
    )
    return LedgerOverview(
        partners_active=partners_active,
        partners_total=partners_total,
        sales_count=sales_count or 0,
        sales_amount=sales_amount or Decimal("0"),
        accrued_approved=session.scalar(approved) or Decimal("0"),
        awaiting_review=session.scalar(awaiting) or Decimal("0"),
        events_pending=events_by_status.get(EventStatus.pending, 0),
        events_rejected=events_by_status.get(EventStatus.rejected, 0),
    )


def top_partners(limit: int = 10) -> list[tuple[Partner, Decimal]]:
    """Partners ranked by the sum of their approved ledger rows (payouts included),
    largest first, then by code."""
    total = sa.func.sum(Accrual.amount).label("total")
    rows = db.session.execute(
        sa.select(Partner, total)
        .join(Accrual, Accrual.partner_id == Partner.id)
        .where(Accrual.status == AccrualStatus.approved)
        .group_by(Partner.id)
        .order_by(total.desc(), Partner.code)
        .limit(limit)
    ).all()
    return [(partner, amount or Decimal("0")) for partner, amount in rows]
