"""Shared set-up for the statement, portal and dashboard tests: views wired, ledger
rows written directly, logins per role, and a real rq worker."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import rq
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

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
from server.security.commands import NewUser, create_user
from server.security.roles import Role

PASSWORD = "secret-pass-1"


def login(app: Flask, role: Role = Role.MANAGER, partner_code: str | None = None) -> FlaskClient:
    username = f"u-{role.value.lower()}-{uuid.uuid4().hex[:6]}"
    with app.app_context():
        create_user(
            NewUser(
                username, PASSWORD, role, "Test", "User", f"{username}@example.test", partner_code
            )
        )
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert response.status_code in (200, 302)
    return client


def partner(
    code: str, region_code: str = "A", kind: PartnerKind = PartnerKind.online_affiliate
) -> Partner:
    region = db.session.scalar(sa.select(Region).where(Region.code == region_code))
    if region is None:
        region = Region(
            code=region_code, name_ru=f"Регион {region_code}", name_en=f"Region {region_code}"
        )
    row = Partner(
        code=code, name=f"Партнёр {code}", kind=kind, status=PartnerStatus.active, region=region
    )
    db.session.add(row)
    db.session.flush()
    return row


def sale(
    external_id: str,
    owner: Partner,
    at: datetime,
    amount: str = "1000.00",
    *,
    type_: EventType = EventType.sale,
    channel: str = "online",
    customer: str = "c-1",
    code: str | None = None,
) -> SalesEvent:
    payload: dict[str, str] = {"id": external_id, "type": type_.value, "partner": owner.code}
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
        payload=payload,
        payload_sha256=external_id,
        status=EventStatus.processed,
    )
    db.session.add(row)
    db.session.flush()
    return row


def accrual(
    event: SalesEvent | None,
    owner: Partner,
    amount: str,
    at: datetime,
    *,
    kind: AccrualKind = AccrualKind.commission,
    status: AccrualStatus = AccrualStatus.approved,
    rule: str = "cps",
    points: int = 0,
    reason: str | None = None,
    reverses: str | None = None,
    created_at: datetime | None = None,
) -> Accrual:
    row = Accrual(
        dedupe_key=f"t|{uuid.uuid4().hex}",
        event_id=event.id if event else None,
        partner_id=owner.id,
        rule_key=rule,
        kind=kind,
        amount=Decimal(amount),
        points=points,
        status=status,
        reason=reason,
        reverses=reverses,
        occurred_at=at,
        created_at=created_at or at,
    )
    db.session.add(row)
    db.session.flush()
    return row


def run_documents_worker(app: Flask, max_jobs: int | None = None) -> None:
    """Run the ``documents`` queue with a real rq worker (in this process)."""
    run_worker_on(app, "documents", max_jobs)


def run_worker_on(app: Flask, name: str, max_jobs: int | None = None) -> None:
    """Run queue ``name`` with a real rq worker (in this process) until it is empty."""
    from server.queues import get_queue, redis_connection
    from server.tasks.worker import set_worker_app

    set_worker_app(app)
    with app.app_context():
        queue = get_queue(name, app)
        worker = rq.SimpleWorker([queue], connection=redis_connection(app))
        worker.work(burst=True, max_jobs=max_jobs)
