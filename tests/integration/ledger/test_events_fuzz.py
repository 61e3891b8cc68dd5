"""Fuzzing POST /api/v1/events: whatever arrives, never a 5xx, every refusal says why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.security.api_keys import create_api_key

FIELDS = [
    "id",
    "type",
    "occurred_at",
    "partner",
    "qr_token",
    "promo_code",
    "referral",
    "channel",
    "region",
    "amount",
    "currency",
    "customer",
    "category",
    "refers_to",
    "action",
    "count",
    "order_id",
]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.text(min_size=190, max_size=260),  # around the VARCHAR(200) limits
    st.sampled_from(
        [
            "sale",
            "refund",
            "lead",
            "action",
            "impressions",
            "online",
            "offline",
            "RUB",
            "USD",
            "NaN",
            "Infinity",
            "-0",
            "1e999",
            "0.005",
            "12.345",
            "2026-03-02T10:00:00+03:00",
            "2026-03-02T10:00:00",
            "2026-02-30T00:00:00Z",
            "AMB1",
            "qr-shop-1",
            "web1",
            "AMB-1",
            "\x00",
            "' OR 1=1 --",
        ]
    ),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
event_like = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS))
batches = st.lists(st.one_of(event_like, json_values), max_size=20)
wrapped = st.fixed_dictionaries(
    {"events": batches}, optional={"source": st.sampled_from(["fuzz", "x"])}
)
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def api(app: Flask) -> tuple[Flask, str]:
    app.config["EVENTS_RATE_LIMIT_PER_MINUTE"] = 0
    with app.app_context():
        return app, create_api_key("fuzz", "fuzz").key


def _check(response: Any, sent: list[Any] | None) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert isinstance(body, dict)
    if response.status_code != 200:
        assert body.get("error")
        return
    assert sent is not None and len(body["results"]) == len(sent)
    for result in body["results"]:
        assert result["status"] in {"accepted", "duplicate", "conflict", "rejected", "merged"}
        if result["status"] in {"rejected", "conflict"}:
            assert result["reason"]


@SETTINGS
@given(batch=batches)
def test_structured_batches_never_fail(api: tuple[Flask, str], batch: list[Any]) -> None:
    app, key = api
    response = app.test_client().post(
        "/api/v1/events",
        data=json.dumps(batch),
        headers={"X-API-Key": key},
        content_type="application/json",
    )
    _check(response, batch)


@SETTINGS
@given(body=wrapped)
def test_wrapped_batches_never_fail(api: tuple[Flask, str], body: dict[str, Any]) -> None:
    app, key = api
    response = app.test_client().post(
        "/api/v1/events",
        data=json.dumps(body),
        headers={"X-API-Key": key},
        content_type="application/json",
    )
    _check(response, body["events"])


@SETTINGS
@given(body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bodies_never_fail(api: tuple[Flask, str], body: bytes) -> None:
    app, key = api
    response = app.test_client().post("/api/v1/events", data=body, headers={"X-API-Key": key})
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if isinstance(parsed, dict):
        parsed = parsed.get("events")
    _check(response, parsed if isinstance(parsed, list) else None)
