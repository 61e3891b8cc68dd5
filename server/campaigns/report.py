"""A campaign's report from the ledger: sales, accruals, new customers, ROI.

Sales are the sale events that earned an accrual of one of the campaign's rules
(net of their refunds' reversals in the accruals, not in the sales figure); cost is the
campaign's spend (:mod:`server.campaigns.budget`); ROI = (sales − cost) / cost.
New customers are the customers of those sales whose first sale ever is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from server.campaigns.budget import SPENDING_KINDS, campaign_rule_keys
from server.campaigns.models import Campaign
from server.ledger.models import Accrual, EventType, SalesEvent
from server.partners.models import Partner

ZERO = Decimal("0.00")


@dataclass
class ReportRow:
    key: str
    sales: Decimal = ZERO
    orders: int = 0
    accruals: Decimal = ZERO
    new_customers: int = 0

    @property
    def roi(self) -> Decimal | None:
        if self.accruals <= 0:
            return None
        return ((self.sales - self.accruals) / self.accruals).quantize(Decimal("0.01"))


@dataclass
class CampaignReport:
    total: ReportRow
    by_partner: list[ReportRow] = field(default_factory=list)
    by_channel: list[ReportRow] = field(default_factory=list)


def campaign_report(session: Session, campaign: Campaign) -> CampaignReport:
    """Totals, per partner and per channel, largest sales first."""
    keys = list(campaign_rule_keys(session, campaign.id))
    total = ReportRow("total")
    if not keys:
        return CampaignReport(total)
    earlier = aliased(SalesEvent)
    first_sale = ~sa.exists().where(
        earlier.customer == SalesEvent.customer,
        earlier.type == EventType.sale,
        sa.or_(
            earlier.occurred_at < SalesEvent.occurred_at,
            sa.and_(earlier.occurred_at == SalesEvent.occurred_at, earlier.id < SalesEvent.id),
        ),
    )
    per_event = (
        sa.select(
            SalesEvent.id,
            Partner.code,
            SalesEvent.channel,
            SalesEvent.amount,
            SalesEvent.customer,
            sa.case((sa.and_(SalesEvent.customer.is_not(None), first_sale), 1), else_=0),
            sa.func.sum(Accrual.amount),
        )
        .join(Accrual, Accrual.event_id == SalesEvent.id)
        .join(Partner, Partner.id == Accrual.partner_id)
        .where(
            Accrual.rule_key.in_(keys),
            Accrual.kind.in_(SPENDING_KINDS),
            SalesEvent.type == EventType.sale,
        )
        .group_by(
            SalesEvent.id, Partner.code, SalesEvent.channel, SalesEvent.amount, SalesEvent.customer
        )
    )
    partners: dict[str, ReportRow] = {}
    channels: dict[str, ReportRow] = {}
    for _id, partner, channel, amount, _customer, is_new, accrued in session.execute(per_event):
        for row in (
            total,
            partners.setdefault(partner, ReportRow(partner)),
            channels.setdefault(channel or "—", ReportRow(channel or "—")),
        ):
            row.sales += Decimal(amount or 0)
            row.orders += 1
            row.accruals += Decimal(accrued or 0)
            row.new_customers += int(is_new)
    reversals = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Accrual.amount), 0)).where(
            Accrual.rule_key.in_(keys),
            Accrual.kind.in_(SPENDING_KINDS),
            Accrual.reverses.is_not(None),
        )
    )
    total.accruals += Decimal(reversals or 0)
    return CampaignReport(
        total,
        sorted(partners.values(), key=lambda r: (-r.sales, r.key)),
        sorted(channels.values(), key=lambda r: (-r.sales, r.key)),
    )
