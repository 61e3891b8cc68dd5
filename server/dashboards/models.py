"""The dashboards' rollup tables: daily KPI figures kept up to date by
:func:`server.dashboards.rollup.refresh_rollups`, read by :mod:`server.dashboards.queries`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from server.db.types import Money, UTCDateTime


class KpiEventDay(Model):
    """Sales and leads of one UTC day per region, partner kind and channel."""

    __tablename__ = "kpi_event_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    partner_kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    sales_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    sales_amount: Mapped[Any] = mapped_column(Money)
    leads: Mapped[int] = mapped_column(sa.Integer, default=0)


class KpiAccrualDay(Model):
    """Approved accruals (payouts excluded) of one UTC day per region, partner kind,
    channel and campaign (0: no campaign)."""

    __tablename__ = "kpi_accrual_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    partner_kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    accrued: Mapped[Any] = mapped_column(Money)


class KpiCampaignDay(Model):
    """Sales of one UTC day on which a campaign's rule accrued."""

    __tablename__ = "kpi_campaign_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    sales_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    sales_amount: Mapped[Any] = mapped_column(Money)


class KpiFirstSale(Model):
    """A customer's first processed sale (new customers are counted by its day)."""

    __tablename__ = "kpi_first_sales"

    customer: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, index=True)
    region_id: Mapped[int] = mapped_column(sa.Integer)
    partner_kind: Mapped[str] = mapped_column(sa.String(32))
    channel: Mapped[str] = mapped_column(sa.String(16))


class KpiPartnerTotal(Model):
    """All-time figures of one partner (:data:`NO_PARTNER`: processed sales without a
    partner): processed sales, the sum of its approved ledger rows, every kind included
    (payouts too), and of its held rows awaiting review, as the first page shows them."""

    __tablename__ = "kpi_partner_totals"

    partner_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    sales_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    sales_amount: Mapped[Any] = mapped_column(Money)
    approved: Mapped[Any] = mapped_column(Money)
    #: approved rows counted: a partner is ranked once it has one, even if they sum to 0
    approved_rows: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: held rows no decision has taken out yet (:func:`awaiting_review_filter`)
    awaiting_review: Mapped[Any] = mapped_column(Money)


class KpiRefresh(Model):
    """One row: when the rollups were last brought up to date."""

    __tablename__ = "kpi_refresh"

    id: Mapped[int] = mapped_column(primary_key=True)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
