"""Ledger rows written directly, as the evaluation would (hold tests need exact cases)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from server.extensions import db
from server.ledger.models import (
    Accrual,
    AccrualKind,
    AccrualStatus,
    EventStatus,
    EventType,
    SalesEvent,
)
from server.partners.models import Partner, PartnerKind, PartnerStatus, Region

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def partner(code: str = "P-1", region_code: str = "A") -> Partner:
    region = db.session.scalar(sa.select(Region).where(Region.code == region_code))
    if region is None:
        region = Region(
            code=region_code, name_ru=f"Регион {region_code}", name_en=f"Region {region_code}"
        )
    row = Partner(
        code=code,
        name=f"Партнёр {code}",
        kind=PartnerKind.offline_point,
        status=PartnerStatus.active,
        region=region,
    )
    db.session.add(row)
    db.session.flush()
    return row


def event(
    external_id: str,
    owner: Partner,
    amount: str = "200000.00",
    *,
    type_: EventType = EventType.sale,
    refers_to: str | None = None,
    customer: str = "c-1",
) -> SalesEvent:
    payload = {
        "id": external_id,
        "type": type_.value,
        "amount": amount,
        "partner": owner.code,
        "customer": customer,
    }
    row = SalesEvent(
        source="shop",
        external_id=external_id,
        type=type_,
        occurred_at=AT,
        partner_id=owner.id,
        amount=Decimal(amount),
        customer=customer,
        refers_to=refers_to,
        payload=payload,
        payload_sha256=external_id,
        status=EventStatus.processed,
    )
    db.session.add(row)
    db.session.flush()
    return row


def accrual(
    sale: SalesEvent,
    owner: Partner,
    amount: str,
    *,
    status: AccrualStatus = AccrualStatus.held,
    reason: str | None = "hold-large",
    rule: str = "cps",
    kind: AccrualKind = AccrualKind.commission,
    points: int = 0,
    reverses: str | None = None,
    level: int | None = None,
) -> Accrual:
    row = Accrual(
        dedupe_key=f"shop|{sale.external_id}|{rule}|{owner.code}|{level or 0}",
        event_id=sale.id,
        partner_id=owner.id,
        rule_key=rule,
        kind=kind,
        amount=Decimal(amount),
        points=points,
        status=status,
        reason=reason if status is AccrualStatus.held else None,
        level=level,
        reverses=reverses,
        occurred_at=AT,
    )
    db.session.add(row)
    db.session.flush()
    return row


def payable(owner: Partner) -> tuple[Decimal, int]:
    """The partner's payable balance and points: approved rows only."""
    amount, points = db.session.execute(
        sa.select(sa.func.sum(Accrual.amount), sa.func.sum(Accrual.points)).where(
            Accrual.partner_id == owner.id, Accrual.status == AccrualStatus.approved
        )
    ).one()
    return amount or Decimal("0"), points or 0
