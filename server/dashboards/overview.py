"""The manager's first page: all-time figures and the partner ranking, read from the
per-partner rollup (:class:`~server.dashboards.rollup.KpiPartnerTotal`) instead of the
raw ledger.

The figures mean what :func:`server.ledger.queries.ledger_overview` and
:func:`server.ledger.queries.top_partners` compute over the raw rows, and equal them
to the kopeck once the rollups are fresh (call
:func:`~server.dashboards.rollup.ensure_rollups` first; the page says "as of").
Partner and event counts are read live: they are small indexed counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from server.dashboards.rollup import KpiPartnerTotal
from server.extensions import db
from server.ledger.models import EventStatus, SalesEvent
from server.ledger.queries import LedgerOverview
from server.partners.models import Partner, PartnerKind, PartnerStatus, Region

ZERO = Decimal("0.00")
#: partners in the first page's ranking
RANKING_SIZE = 10


@dataclass(frozen=True)
class RankedPartner:
    """One line of the first page's ranking: a partner and its approved ledger sum."""

    code: str
    name: str
    kind: PartnerKind
    region_code: str
    amount: Decimal


def _count(column: Any, *conditions: sa.ColumnElement[bool]) -> int:
    return int(db.session.scalar(sa.select(sa.func.count(column)).where(*conditions)) or 0)


def overview() -> LedgerOverview:
    """Partners, processed sales, approved ledger rows, holds awaiting review, pending
    and rejected events: sums from the rollup, counts live."""
    sales_count, sales_amount, approved, awaiting = db.session.execute(
        sa.select(
            sa.func.sum(KpiPartnerTotal.sales_count),
            sa.func.sum(KpiPartnerTotal.sales_amount),
            sa.func.sum(KpiPartnerTotal.approved),
            sa.func.sum(KpiPartnerTotal.awaiting_review),
        )
    ).one()
    return LedgerOverview(
        partners_active=_count(Partner.id, Partner.status == PartnerStatus.active),
        partners_total=_count(Partner.id),
        sales_count=int(sales_count or 0),
        sales_amount=sales_amount or ZERO,
        accrued_approved=approved or ZERO,
        awaiting_review=awaiting or ZERO,
        # one indexed count per status (ix_events_status_received), not a scan of all
        events_pending=_count(SalesEvent.id, SalesEvent.status == EventStatus.pending),
        events_rejected=_count(SalesEvent.id, SalesEvent.status == EventStatus.rejected),
    )


def top_partners(limit: int = RANKING_SIZE) -> list[RankedPartner]:
    """Partners with approved ledger rows, by their sum (payouts included), largest
    first, then by code."""
    rows = db.session.execute(
        sa.select(Partner.code, Partner.name, Partner.kind, Region.code, KpiPartnerTotal.approved)
        .join(Partner, Partner.id == KpiPartnerTotal.partner_id)
        .join(Region, Region.id == Partner.region_id)
        .where(KpiPartnerTotal.approved_rows > 0)
        .order_by(KpiPartnerTotal.approved.desc(), Partner.code)
        .limit(limit)
    ).all()
    return [
        RankedPartner(code, name, kind, region, amount or ZERO)
        for code, name, kind, region, amount in rows
    ]
