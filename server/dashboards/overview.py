"""The manager's first page: all-time figures and the partner ranking, read from the
per-partner rollup (:class:`~server.dashboards.rollup.KpiPartnerTotal`) instead of the
raw ledger.

The figures mean what :func:`server.ledger.queries.ledger_overview` and
:func:`server.ledger.queries.top_partners` compute over the raw rows, and equal them
to the kopeck once the rollups are fresh (call
``ensure_rollups`` of ``tasks/dashboards.py`` first; the page says "as of").
Partner and event counts are read live: they are small indexed counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from server.dashboards.models import KpiPartnerTotal
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


@dataclass(frozen=True)
class TodaysWork:
    """What needs a person today, counted live (small indexed counts)."""

    holds_to_review: int
    onboardings_open: int
    onboardings_failed: int
    periods_to_close: int
    campaigns_running: int
    contracts_to_send: int
    contracts_failed: int
    #: contracts sent to partners and not yet signed (legal files the signed scan)
    contracts_to_sign: int
    #: contract template drafts not yet published
    templates_drafts: int


def todays_work(open_periods: int) -> TodaysWork:
    """The first page's to-do counts; ``open_periods`` is the statements' own count of
    months waiting to be closed (:func:`server.statements.commands.open_months_through`)."""
    from server.campaigns.models import Campaign, CampaignStatus
    from server.documents.models import (
        Contract,
        ContractStatus,
        ContractTemplate,
        RenderStatus,
        TemplateStatus,
    )
    from server.ledger.holds import pending_filter
    from server.ledger.models import Accrual
    from server.workflows.models import InstanceStatus, WorkflowInstance

    def count(query: sa.Select[Any]) -> int:
        return int(db.session.scalar(query) or 0)

    onboarding = WorkflowInstance.subject_type == "partner"
    return TodaysWork(
        holds_to_review=count(sa.select(sa.func.count(Accrual.id)).where(pending_filter())),
        onboardings_open=count(
            sa.select(sa.func.count(WorkflowInstance.id)).where(
                onboarding,
                WorkflowInstance.status.in_([InstanceStatus.running, InstanceStatus.acting]),
            )
        ),
        onboardings_failed=count(
            sa.select(sa.func.count(WorkflowInstance.id)).where(
                onboarding, WorkflowInstance.status == InstanceStatus.error
            )
        ),
        periods_to_close=open_periods,
        campaigns_running=count(
            sa.select(sa.func.count(Campaign.id)).where(Campaign.status == CampaignStatus.running)
        ),
        contracts_to_send=count(
            sa.select(sa.func.count(Contract.id)).where(
                Contract.status == ContractStatus.draft,
                Contract.render_status == RenderStatus.rendered,
            )
        ),
        contracts_failed=count(
            sa.select(sa.func.count(Contract.id)).where(
                Contract.render_status == RenderStatus.failed
            )
        ),
        contracts_to_sign=count(
            sa.select(sa.func.count(Contract.id)).where(Contract.status == ContractStatus.sent)
        ),
        templates_drafts=count(
            sa.select(sa.func.count(ContractTemplate.id)).where(
                ContractTemplate.status == TemplateStatus.draft
            )
        ),
    )


#: how far back an integration's home counts refused events
RECENT_REJECTIONS_DAYS = 7


@dataclass(frozen=True)
class SourceRejections:
    """One event source's refused events in the recent window."""

    source: str
    count: int
    last_at: datetime


@dataclass(frozen=True)
class IntegrationStatus:
    """An integration login's first page: what the API refused lately, and the keys."""

    since: datetime
    rejections: list[SourceRejections]
    keys_active: int
    keys_last_used_at: datetime | None

    @property
    def rejections_total(self) -> int:
        return sum(row.count for row in self.rejections)


def integration_status(now: datetime) -> IntegrationStatus:
    """Events refused per source over the last :data:`RECENT_REJECTIONS_DAYS` days, most
    first: refused at intake (malformed) and rejected when processed (no partner to credit,
    for example), the two kinds an integration must hear about; and the API keys in
    force, read live."""
    from server.ledger.models import EventStatus, IntakeRejection, SalesEvent
    from server.security.models import ApiKey

    since = now - timedelta(days=RECENT_REJECTIONS_DAYS)
    per_source: dict[str, tuple[int, datetime]] = {}
    for model, refused in (
        (IntakeRejection, IntakeRejection.received_at >= since),
        (
            SalesEvent,
            sa.and_(SalesEvent.status == EventStatus.rejected, SalesEvent.received_at >= since),
        ),
    ):
        for source, n, last in db.session.execute(
            sa.select(model.source, sa.func.count(model.id), sa.func.max(model.received_at))
            .where(refused)
            .group_by(model.source)
        ):
            count, latest = per_source.get(source, (0, last))
            per_source[source] = (count + int(n), max(latest, last))
    rows = sorted(per_source.items(), key=lambda item: (-item[1][0], item[0]))
    keys_active, last_used = db.session.execute(
        sa.select(sa.func.count(ApiKey.id), sa.func.max(ApiKey.last_used_at)).where(
            ApiKey.revoked_at.is_(None)
        )
    ).one()
    return IntegrationStatus(
        since=since,
        rejections=[SourceRejections(source, n, last) for source, (n, last) in rows],
        keys_active=int(keys_active or 0),
        keys_last_used_at=last_used,
    )
