"""Ledger rows written directly, as intake and evaluation would: partners, sales and
accruals for tests that need exact cases (holds, statements, dashboards, screens).

One module for every folder: ``partner`` makes the partner and its region, ``sale``
an evaluated event, ``accrual`` an approved ledger row and ``held`` one on hold.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

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

T = TypeVar("T")

#: when a row happened, unless a test says otherwise
AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _stored(row: T) -> T:
    """The row added to the session and flushed (it has its id)."""
    db.session.add(row)
    db.session.flush()
    return row


def partner(
    code: str = "P-1", region_code: str = "A", kind: PartnerKind = PartnerKind.online_affiliate
) -> Partner:
    """An active partner in region ``region_code`` (made when missing)."""
    region = db.session.scalar(sa.select(Region).where(Region.code == region_code))
    if region is None:
        region = Region(
            code=region_code, name_ru=f"Регион {region_code}", name_en=f"Region {region_code}"
        )
    row = Partner(
        code=code, name=f"Партнёр {code}", kind=kind, status=PartnerStatus.active, region=region
    )
    return _stored(row)


def sale(
    external_id: str,
    owner: Partner,
    at: datetime = AT,
    amount: str = "1000.00",
    *,
    type_: EventType = EventType.sale,
    channel: str = "online",
    customer: str = "c-1",
    code: str | None = None,
    refers_to: str | None = None,
) -> SalesEvent:
    """An evaluated event of ``owner`` (a refund names its sale in ``refers_to``)."""
    payload: dict[str, str] = {
        "id": external_id,
        "type": type_.value,
        "amount": amount,
        "partner": owner.code,
        "customer": customer,
    }
    if code:
        payload["promo_code"] = code
    row = SalesEvent(
        source="shop",
        external_id=external_id,
        type=type_,
        occurred_at=at,
        partner_id=owner.id,
        channel=channel,
        amount=Decimal(amount),
        customer=customer,
        order_id=f"ORD-{external_id}",
        refers_to=refers_to,
        payload=payload,
        payload_sha256=external_id,
        status=EventStatus.processed,
    )
    return _stored(row)


def accrual(
    event: SalesEvent | None,
    owner: Partner,
    amount: str,
    at: datetime = AT,
    *,
    kind: AccrualKind = AccrualKind.commission,
    status: AccrualStatus = AccrualStatus.approved,
    rule: str = "cps",
    points: int = 0,
    reason: str | None = None,
    reverses: str | None = None,
    level: int | None = None,
    created_at: datetime | None = None,
) -> Accrual:
    """A ledger row of ``owner``, approved unless ``status`` says otherwise."""
    row = Accrual(
        dedupe_key=f"t|{uuid.uuid4().hex}",
        event_id=event.id if event else None,
        partner_id=owner.id,
        rule_key=rule,
        kind=kind,
        amount=Decimal(amount),
        points=points,
        status=status,
        reason=reason if status is AccrualStatus.held else None,
        level=level,
        reverses=reverses,
        occurred_at=at,
        created_at=created_at or at,
    )
    return _stored(row)


def held(
    event: SalesEvent,
    owner: Partner,
    amount: str,
    *,
    reason: str = "hold-large",
    rule: str = "cps",
    kind: AccrualKind = AccrualKind.commission,
    points: int = 0,
    reverses: str | None = None,
    level: int | None = None,
) -> Accrual:
    """A ledger row on hold for ``reason`` (the hold rule's id), awaiting review."""
    return accrual(
        event,
        owner,
        amount,
        status=AccrualStatus.held,
        reason=reason,
        rule=rule,
        kind=kind,
        points=points,
        reverses=reverses,
        level=level,
    )


def payable(owner: Partner) -> tuple[Decimal, int]:
    """The partner's payable balance and points: approved rows only."""
    amount, points = db.session.execute(
        sa.select(sa.func.sum(Accrual.amount), sa.func.sum(Accrual.points)).where(
            Accrual.partner_id == owner.id, Accrual.status == AccrualStatus.approved
        )
    ).one()
    return amount or Decimal("0"), points or 0
