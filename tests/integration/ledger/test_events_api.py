"""POST /api/v1/events end to end: API → database → Redis → worker → ledger."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.ledger.models import Accrual, EventStatus, IntakeRejection, SalesEvent
from server.security.api_keys import create_api_key, revoke_api_key
from tests.integration.ledger.helpers import (
    EXAMPLES,
    expected,
    exported,
    load_example,
    post,
    post_example,
    raw_batch,
    run_worker,
)

pytestmark = pytest.mark.spec_examples
BASIC = EXAMPLES / "basic"


def test_worked_example_through_the_api_equals_expected(app: Flask) -> None:
    key = load_example(app, BASIC)
    client = app.test_client()
    response = post(client, key, raw_batch(BASIC))
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert answer["accepted"] == 12 and answer["rejected"] == 0
    assert [r["status"] for r in answer["results"]] == ["accepted"] * 12
    run_worker(app)
    assert exported(app) == expected(BASIC)


def test_resending_every_event_changes_nothing(app: Flask) -> None:
    key, client = post_example(app, BASIC)
    run_worker(app)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(Accrual.id)))
    again = post(client, key, raw_batch(BASIC)).get_json()
    assert again["duplicate"] == 12 and again["accepted"] == 0
    run_worker(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == before
    assert exported(app) == expected(BASIC)


def test_same_id_with_another_payload_is_a_conflict(app: Flask) -> None:
    key, client = post_example(app, BASIC)
    changed = json.loads((BASIC / "events.jsonl").read_text().splitlines()[0])
    changed["amount"] = "999999"
    answer = post(client, key, json.dumps([changed])).get_json()
    assert answer["results"][0]["status"] == "conflict"
    assert "different payload" in answer["results"][0]["reason"]
    with app.app_context():
        stored = db.session.scalar(
            sa.select(SalesEvent).where(SalesEvent.external_id == changed["id"])
        )
        assert stored is not None and stored.payload["amount"] == "4000"


def test_malformed_events_are_rejected_with_reasons_and_the_rest_go_in(app: Flask) -> None:
    key = load_example(app, BASIC)
    batch: list[Any] = [  # JSON values, some deliberately not objects
        {
            "id": "ok1",
            "type": "sale",
            "occurred_at": "2026-03-02T10:00:00+03:00",
            "promo_code": "AMB1",
            "channel": "online",
            "amount": "100",
        },
        {
            "id": "bad1",
            "type": "sale",
            "occurred_at": "2026-03-02T10:00:00+03:00",
            "promo_code": "AMB1",
            "channel": "online",
            "amount": "-5",
        },
        {"id": "bad2", "type": "sale", "occurred_at": "yesterday", "amount": "5"},
        {"type": "sale"},
        "not an object",
        {
            "id": "bad3",
            "type": "sale",
            "occurred_at": "2026-03-02T10:00:00+03:00",
            "promo_code": "AMB1",
            "amount": "5",
        },
        {
            "id": "bad4",
            "type": "sale",
            "occurred_at": "2026-03-02T10:00:00+03:00",
            "promo_code": "AMB1",
            "channel": "online",
            "amount": "5",
            "currency": "USD",
        },
    ]
    answer = post(app.test_client(), key, json.dumps(batch)).get_json()
    statuses = [(r["status"], r.get("reason")) for r in answer["results"]]
    assert statuses == [
        ("accepted", None),
        ("rejected", "invalid amount"),
        ("rejected", "invalid occurred_at"),
        ("rejected", "missing field: id"),
        ("rejected", "invalid json"),
        ("rejected", "missing field: channel"),
        ("rejected", "currency mismatch"),
    ]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(IntakeRejection.id))) == 6
        assert db.session.scalar(sa.select(sa.func.count(SalesEvent.id))) == 1
    # A fixed event may be sent again with the same id.
    fixed = dict(batch[1], amount="5")
    assert post(app.test_client(), key, json.dumps([fixed])).get_json()["accepted"] == 1


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("{not json", 400, "malformed JSON"),
        ('{"events": 5}', 400, "expected a JSON array"),
        ('"text"', 400, "expected a JSON array"),
        ('{"source": "other", "events": []}', 403, "source"),
    ],
)
def test_bad_requests_get_a_clear_4xx(app: Flask, body: str, status: int, needle: str) -> None:
    key = load_example(app, BASIC)
    response = post(app.test_client(), key, body)
    assert response.status_code == status
    assert needle in response.get_json()["error"]


def test_keys_are_checked(app: Flask) -> None:
    key = load_example(app, BASIC)
    client = app.test_client()
    assert post(client, "", "[]").status_code == 401
    assert post(client, key + "x", "[]").status_code == 401
    with app.app_context():
        other = create_api_key("other", "pos-msk")
        revoke_api_key(other.id)
    assert post(client, other.key, "[]").status_code == 401
    assert post(client, key, "[]").status_code == 200


def test_batch_size_and_rate_limits(app: Flask) -> None:
    key = load_example(app, BASIC)
    app.config["EVENTS_MAX_BATCH"] = 3
    app.config["EVENTS_RATE_LIMIT_PER_MINUTE"] = 4
    client = app.test_client()
    too_big = post(client, key, json.dumps([{}] * 4))
    assert too_big.status_code == 413 and "limit is 3" in too_big.get_json()["error"]
    codes = [post(client, key, "[]").status_code for _ in range(4)]
    assert codes[-1] == 429
    limited = post(client, key, "[]")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_event_page_data_is_kept(app: Flask) -> None:
    post_example(app, BASIC)
    run_worker(app)
    with app.app_context():
        s8 = db.session.scalar(sa.select(SalesEvent).where(SalesEvent.external_id == "s8"))
        assert s8 is not None and s8.status is EventStatus.rejected
        assert s8.rejection_reason == "unattributed"
        s1 = db.session.scalar(sa.select(SalesEvent).where(SalesEvent.external_id == "s1"))
        assert s1 is not None and s1.partner is not None and s1.partner.code == "AMB-1"
        assert len(s1.accruals) == 2


def test_endpoint_is_documented_in_openapi_with_swagger_ui(app: Flask) -> None:
    import re

    from server.security.roles import Role
    from tests.support.web import login

    client = login(app, Role.ADMIN)
    spec = client.get("/api/v1/_openapi")
    assert spec.status_code == 200
    operation = spec.get_json()["paths"]["/api/v1/events"]["post"]
    assert any(p["name"] == "X-API-Key" for p in operation["parameters"])
    assert {"200", "400", "401", "403", "413", "429"} <= set(operation["responses"])
    page = client.get("/swagger/v1")
    assert page.status_code == 200
    assert re.findall(r'(?:src|href)="(https?:)?//', page.get_data(as_text=True)) == []


def test_refund_after_a_released_hold_reduces_what_is_payable(app: Flask) -> None:
    from decimal import Decimal

    from server.ledger.holds import decide_holds
    from server.ledger.models import AccrualStatus, HoldVerdict

    key, client = post_example(app, BASIC)
    run_worker(app)
    with app.app_context():
        held = db.session.scalars(
            sa.select(Accrual.id).where(Accrual.status == AccrualStatus.held)
        ).all()
        assert len(held) == 4  # s6: commission, reward and two overrides
        decide_holds(held, HoldVerdict.approve)
        payable = db.session.scalar(
            sa.select(sa.func.sum(Accrual.amount)).where(Accrual.status == AccrualStatus.approved)
        )
    refund = {
        "id": "r6",
        "type": "refund",
        "occurred_at": "2026-03-20T10:00:00+03:00",
        "refers_to": "s6",
        "amount": "15000",
        "currency": "RUB",
    }
    assert post(client, key, json.dumps([refund])).get_json()["accepted"] == 1
    run_worker(app)
    with app.app_context():
        after = db.session.scalar(
            sa.select(sa.func.sum(Accrual.amount)).where(Accrual.status == AccrualStatus.approved)
        )
        # 10 % of s6 refunded: 750.00 + 300.00 + 75.00 of released accruals come back.
        assert payable - after == Decimal("1125.00")


def test_text_postgresql_cannot_store_is_refused_with_a_reason(app: Flask) -> None:
    key = load_example(app, BASIC)
    batch = [
        {"id": "nul\x00", "type": "sale"},
        {
            "id": "x" * 201,
            "type": "sale",
            "occurred_at": "2026-03-02T10:00:00+03:00",
            "channel": "online",
            "amount": "5",
        },
    ]
    answer = post(app.test_client(), key, json.dumps(batch))
    assert answer.status_code == 200
    reasons = [r.get("reason") for r in answer.get_json()["results"]]
    assert reasons == ["invalid text: NUL character", "invalid id: longer than 200 characters"]
    with app.app_context():
        logged = db.session.scalars(
            sa.select(IntakeRejection.payload).order_by(IntakeRejection.id)
        ).all()
        assert logged[0]["id"] == "nul\ufffd"
