"""Managers' KPIs, aggregated in SQL over the daily rollups of
:mod:`server.dashboards.rollup` (call :func:`~server.dashboards.rollup.refresh_rollups`
first), never rows in Python.

Figures per group of one dimension (region, channel, partner kind, campaign) over a
date range ``[date_from, date_to]`` (UTC days):

* sales: processed ``sale`` events, their count and amount; average check = amount / count;
* leads: processed ``lead`` events; sales per lead = online sales / leads (leads come
  from online partners only: counting offline sales, which never had a lead, inflated
  it). It is a ratio, not a conversion rate: a lead is not linked to the sale it may
  bring, so "the share of leads that bought" cannot be known, and a percentage above
  100 (the demo showed «308,33 %») read as nonsense;
* accrued: approved ledger rows except payouts (what the program costs);
  ROI = (sales − accrued) / accrued;
* new customers: customers whose first processed sale falls in the range.

Campaign figures follow the ledger: a sale counts for a campaign when a rule of that
campaign accrued on it.
"""

from __future__ import annotations

import csv
import enum
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from server.campaigns.models import Campaign
from server.dashboards.models import KpiAccrualDay, KpiCampaignDay, KpiEventDay, KpiFirstSale
from server.extensions import db
from server.ledger.models import (
    EventStatus,
    EventType,
    SalesEvent,
)
from server.partners.models import Partner, Region
from server.spreadsheet import UTF8_BOM, cell

ZERO = Decimal("0.00")
#: partners in the ranking
RANKING_SIZE = 10
#: the label of rows without a value in the dimension (no channel, no campaign)
NONE_LABEL = "—"


class Dimension(str, enum.Enum):
    region = "region"
    channel = "channel"
    kind = "kind"
    campaign = "campaign"


@dataclass(frozen=True)
class DashboardFilter:
    date_from: date
    date_to: date
    dimension: Dimension = Dimension.region

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time.min, UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.date_to + timedelta(days=1), time.min, UTC)


@dataclass(frozen=True)
class Figures:
    """One group's KPIs."""

    label: str
    sales_count: int = 0
    sales_amount: Decimal = ZERO
    leads: int = 0
    accrued: Decimal = ZERO
    new_customers: int = 0
    #: sales of the online channel: the ones leads can turn into
    online_sales: int = 0

    @property
    def average_check(self) -> Decimal | None:
        if not self.sales_count:
            return None
        return (self.sales_amount / self.sales_count).quantize(Decimal("0.01"))

    @property
    def conversion(self) -> Decimal | None:
        """Online sales per lead (a ratio, two decimals); ``None`` without leads
        (offline rows, campaigns)."""
        if not self.leads:
            return None
        return (Decimal(self.online_sales) / self.leads).quantize(Decimal("0.01"))

    @property
    def roi(self) -> Decimal | None:
        if not self.accrued:
            return None
        return ((self.sales_amount - self.accrued) / self.accrued).quantize(Decimal("0.01"))


def _in_range(column: Any, flt: DashboardFilter) -> sa.ColumnElement[bool]:
    return sa.and_(column >= flt.start, column < flt.end)


def _label(dimension: Dimension, table: Any) -> Any:
    """The grouping expression of a rollup table (joined to ``Region`` for regions)."""
    if dimension is Dimension.region:
        return Region.code
    if dimension is Dimension.channel:
        return table.channel
    if dimension is Dimension.kind:
        return table.partner_kind
    return Campaign.slug


def _days(table: Any, flt: DashboardFilter) -> sa.ColumnElement[bool]:
    return sa.and_(table.day >= flt.date_from, table.day <= flt.date_to)


def _grouped(table: Any, flt: DashboardFilter, *figures: Any) -> sa.Select[Any]:
    label = _label(flt.dimension, table).label("label")
    query = sa.select(label, *figures).select_from(table).where(_days(table, flt)).group_by(label)
    if flt.dimension is Dimension.region:
        query = query.join(Region, Region.id == table.region_id)
    return query


def _events_by(flt: DashboardFilter) -> dict[str, tuple[int, Decimal, int, int]]:
    """(sales, sales amount, leads, online sales) per group, from the daily rollup."""
    if flt.dimension is Dimension.campaign:
        query = (
            sa.select(
                Campaign.slug,
                sa.func.sum(KpiCampaignDay.sales_count),
                sa.func.sum(KpiCampaignDay.sales_amount),
                sa.literal(0),
                sa.literal(0),
            )
            .join(Campaign, Campaign.id == KpiCampaignDay.campaign_id)
            .where(_days(KpiCampaignDay, flt))
            .group_by(Campaign.slug)
        )
    else:
        query = _grouped(
            KpiEventDay,
            flt,
            sa.func.sum(KpiEventDay.sales_count),
            sa.func.sum(KpiEventDay.sales_amount),
            sa.func.sum(KpiEventDay.leads),
            sa.func.sum(
                sa.case((KpiEventDay.channel == "online", KpiEventDay.sales_count), else_=0)
            ),
        )
    return {
        _text(name): (int(sales or 0), Decimal(amount or 0), int(leads or 0), int(online or 0))
        for name, sales, amount, leads, online in db.session.execute(query)
    }


def _accrued_by(flt: DashboardFilter) -> dict[str, Decimal]:
    query = _grouped(KpiAccrualDay, flt, sa.func.sum(KpiAccrualDay.accrued))
    if flt.dimension is Dimension.campaign:
        query = query.join(Campaign, Campaign.id == KpiAccrualDay.campaign_id)
    return {_text(name): Decimal(amount or 0) for name, amount in db.session.execute(query)}


def _new_customers_by(flt: DashboardFilter) -> dict[str, int]:
    if flt.dimension is Dimension.campaign:
        return {}
    query = _grouped(KpiFirstSale, flt, sa.func.count())
    return {_text(name): int(count) for name, count in db.session.execute(query)}


def _text(value: Any) -> str:
    if value is None or value == "":
        return NONE_LABEL
    return str(value.value if isinstance(value, enum.Enum) else value)


def breakdown(flt: DashboardFilter) -> list[Figures]:
    """KPIs per group of the filter's dimension, largest sales first."""
    events = _events_by(flt)
    accrued = _accrued_by(flt)
    new = _new_customers_by(flt)
    labels = set(events) | set(accrued) | set(new)
    nothing = (0, ZERO, 0, 0)
    rows = [
        Figures(
            label=label,
            sales_count=events.get(label, nothing)[0],
            sales_amount=events.get(label, nothing)[1],
            leads=events.get(label, nothing)[2],
            online_sales=events.get(label, nothing)[3],
            accrued=accrued.get(label, ZERO),
            new_customers=new.get(label, 0),
        )
        for label in labels
    ]
    return sorted(rows, key=lambda row: (-row.sales_amount, row.label))


def totals(rows: list[Figures], label: str) -> Figures:
    """The sum of a breakdown (exact for every dimension but campaign, where a sale may
    count for two campaigns)."""
    return Figures(
        label=label,
        sales_count=sum(row.sales_count for row in rows),
        sales_amount=sum((row.sales_amount for row in rows), ZERO),
        leads=sum(row.leads for row in rows),
        online_sales=sum(row.online_sales for row in rows),
        accrued=sum((row.accrued for row in rows), ZERO),
        new_customers=sum(row.new_customers for row in rows),
    )


def _month(column: Any) -> Any:
    if db.engine.dialect.name == "postgresql":
        return sa.func.to_char(column, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def growth(flt: DashboardFilter) -> list[tuple[str, Decimal, Decimal | None]]:
    """(month, sales amount, growth against the month before) over the range."""
    month = _month(KpiEventDay.day).label("month")
    rows = db.session.execute(
        sa.select(month, sa.func.sum(KpiEventDay.sales_amount))
        .where(_days(KpiEventDay, flt))
        .group_by(month)
        .order_by(month)
    ).all()
    series: list[tuple[str, Decimal, Decimal | None]] = []
    previous: Decimal | None = None
    for name, amount in rows:
        value = Decimal(amount or 0)
        change = ((value - previous) / previous).quantize(Decimal("0.0001")) if previous else None
        series.append((str(name), value, change))
        previous = value
    return series


def ranking(flt: DashboardFilter, limit: int = RANKING_SIZE) -> list[tuple[str, str, Decimal, int]]:
    """Partners by sales amount in the range: (code, name, amount, sales)."""
    amount = sa.func.sum(SalesEvent.amount).label("amount")
    rows = db.session.execute(
        sa.select(Partner.code, Partner.name, amount, sa.func.count(SalesEvent.id))
        .join(Partner, Partner.id == SalesEvent.partner_id)
        .where(
            SalesEvent.type == EventType.sale,
            SalesEvent.status == EventStatus.processed,
            _in_range(SalesEvent.occurred_at, flt),
        )
        .group_by(Partner.id, Partner.code, Partner.name)
        .order_by(amount.desc(), Partner.code)
        .limit(limit)
    ).all()
    return [(code, name, Decimal(total or 0), int(count)) for code, name, total, count in rows]


#: columns of the dashboard's CSV export (names for machines: kept in English)
CSV_COLUMNS = (
    "group",
    "sales_count",
    "sales_amount",
    "average_check",
    "leads",
    "conversion",
    "accrued",
    "roi",
    "new_customers",
)


def breakdown_csv(flt: DashboardFilter) -> bytes:
    """The breakdown table as CSV for spreadsheet programs (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in breakdown(flt):
        writer.writerow(
            [
                cell(row.label),
                row.sales_count,
                f"{row.sales_amount:.2f}",
                _plain(row.average_check),
                row.leads,
                _plain(row.conversion),
                f"{row.accrued:.2f}",
                _plain(row.roi),
                row.new_customers,
            ]
        )
    return (UTF8_BOM + out.getvalue()).encode("utf-8")


def _plain(value: object) -> str:
    return "" if value is None else str(value)
