"""Fuzzing POST /api/v1/events: whatever arrives, never a 5xx, every refusal says why.

Each test runs its hypothesis examples through Flask's test client, checks every answer
(:func:`check_answer`) and counts the distinct inputs judged against its budget
(tests/support/fuzz_budget.py; counting rule in docs/ingestion.md, "Fuzzing").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from server.api.events import MAX_JSON_DEPTH
from server.security.api_keys import create_api_key
from tests.integration.ledger.answers import check_answer
from tests.support.fuzz_budget import (
    BUDGETS,
    EVENTS_API,
    PROMISED_INPUTS,
    FuzzRun,
    canonical_text,
    fuzz_settings,
    promised_per_run,
)

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
#: events with arbitrary values in the contract's fields (mostly rejected at intake)
event_like = st.dictionaries(
    st.sampled_from(FIELDS), json_scalars | json_values, max_size=len(FIELDS)
)

MSK = timezone(timedelta(hours=3))
#: well-formed events from small pools of ids and orders, so that examples meet again:
#: accepted, then duplicate (same payload) or conflict (same id, other payload), and
#: sales of one order from two reports (merged)
plausible_events = st.fixed_dictionaries(
    {
        "id": st.sampled_from([f"ev-{n}" for n in range(60)]) | st.text(min_size=1, max_size=12),
        "type": st.sampled_from(["sale", "sale", "refund", "lead", "action", "impressions"]),
        "occurred_at": st.datetimes(
            min_value=datetime(2020, 1, 1),
            max_value=datetime(2030, 12, 31),
            timezones=st.sampled_from([UTC, MSK]),
        ).map(datetime.isoformat),
    },
    optional={
        "partner": st.sampled_from(["AMB-1", "SHOP-1", "nobody"]),
        "channel": st.sampled_from(["online", "offline"]),
        "amount": st.decimals(min_value="0.01", max_value="1000000", places=2).map(str)
        | st.integers(min_value=1, max_value=10**6),
        "currency": st.sampled_from(["RUB", "RUB", "USD"]),
        "customer": st.sampled_from(["c1", "c2", "c3"]),
        "order_id": st.sampled_from([f"order-{n}" for n in range(8)]),
        "refers_to": st.sampled_from([f"ev-{n}" for n in range(60)]),
        "action": st.sampled_from(["signup", "demo"]),
        "count": st.integers(min_value=1, max_value=10**6),
    },
)
#: a well-formed event with one field replaced by an arbitrary value
near_valid_events = st.builds(
    lambda event, field, value: {**event, field: value},
    plausible_events,
    st.sampled_from(FIELDS),
    json_values,
)
#: each element drawn independently: every distinct event counts as one input
batch_elements = st.one_of(event_like, plausible_events, near_valid_events, json_values)
#: small batches (hypothesis likes to repeat an element in them: duplicates within a batch)
#: and larger ones of distinct events (left alone, hypothesis repeats elements so often
#: that most of a large batch would be copies, costing time without new inputs)
small_batches = st.lists(batch_elements, max_size=4)
large_batches = st.lists(batch_elements, min_size=8, max_size=40, unique_by=canonical_text)
batches = st.sampled_from([large_batches, large_batches, small_batches]).flatmap(
    lambda batch: batch
)
wrapped = st.fixed_dictionaries(
    {"events": batches}, optional={"source": st.sampled_from(["fuzz", "fuzz", "fuzz", "x"])}
)
#: JSON texts the parser must survive: lone surrogate escapes, deep nesting, long numbers
hostile_json = st.one_of(
    st.lists(st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3), min_size=1).map(
        lambda texts: json.dumps([{"id": text} for text in texts]).encode()
    ),
    st.dictionaries(
        st.text(st.characters(categories=["Cs", "Ll"]), min_size=1, max_size=3),
        json_scalars,
        min_size=1,
        max_size=3,
    ).map(lambda event: json.dumps([event]).encode()),
    st.integers(min_value=1, max_value=3 * MAX_JSON_DEPTH).map(
        lambda depth: ("[" * depth + "]" * depth).encode()
    ),
    st.integers(min_value=900, max_value=3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=4200, max_value=4400).map(lambda digits: b"[" + b"7" * digits + b"]"),
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    json_values.map(lambda value: json.dumps(value).encode()),
    hostile_json,
)


@pytest.fixture
def api(app: Flask) -> tuple[Flask, str]:
    app.config["EVENTS_RATE_LIMIT_PER_MINUTE"] = 0
    with app.app_context():
        return app, create_api_key("fuzz", "fuzz").key


def _post(client: FlaskClient, key: str, body: bytes) -> Any:
    return client.post(
        "/api/v1/events", data=body, headers={"X-API-Key": key}, content_type="application/json"
    )


def _events_of(body: bytes) -> list[Any] | None:
    """The events a body carries, as the server reads them (None: not a batch)."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(parsed, dict):
        parsed = parsed.get("events")
    return parsed if isinstance(parsed, list) else None


def test_fuzz_budgets_add_up_to_the_promise() -> None:
    """SQLite's budgets alone make the promised count (PostgreSQL's come on top)."""
    assert promised_per_run() >= PROMISED_INPUTS
    assert all(budget.inputs > 0 and budget.examples > 0 for budget in BUDGETS.values())


def test_a_fuzz_run_that_stops_early_fails_its_budget() -> None:
    """Hypothesis stops when a search space is exhausted; the budget check must notice."""
    run = FuzzRun(name="exhausted", surface="test", backend="none", budget=10)

    @settings(max_examples=100, database=None, derandomize=True)
    @given(flag=st.booleans())
    def fuzz(flag: bool) -> None:
        run.count([flag])

    fuzz()
    with pytest.raises(AssertionError, match="fewer than its budget"):
        run.require_budget()


def test_structured_batches_never_fail(
    api: tuple[Flask, str], fuzz_run: Callable[[str, str], FuzzRun]
) -> None:
    app, key = api
    app.config["EVENTS_MAX_BATCH"] = 36  # the largest generated batches meet the 413
    run = fuzz_run("events.structured_batches", EVENTS_API)
    client = app.test_client()
    shown: set[str] = set()

    @fuzz_settings(run.name, run.backend)
    @given(batch=batches)
    def fuzz(batch: list[Any]) -> None:
        body = json.dumps(batch).encode()
        response = _post(client, key, body)
        shown.update(check_answer(response.status_code, response.get_json(), batch))
        run.count_answer(response.status_code, body, batch)

    fuzz()
    run.require_budget()
    # guard against a vacuous run: the large SQLite run must reach every answer; the
    # smaller PostgreSQL run (a second database, not a second search) the main ones, since
    # hypothesis' generation shifts with the constants of whatever modules are imported
    assert (
        {"200", "413", "accepted", "duplicate", "conflict", "merged", "rejected"}
        if run.backend == "sqlite"
        else {"200", "accepted", "rejected"}
    ) <= shown


def test_wrapped_batches_never_fail(
    api: tuple[Flask, str], fuzz_run: Callable[[str, str], FuzzRun]
) -> None:
    app, key = api
    run = fuzz_run("events.wrapped_batches", EVENTS_API)
    client = app.test_client()
    shown: set[str] = set()

    @fuzz_settings(run.name, run.backend)
    @given(wrapper=wrapped)
    def fuzz(wrapper: dict[str, Any]) -> None:
        body = json.dumps(wrapper).encode()
        response = _post(client, key, body)
        shown.update(check_answer(response.status_code, response.get_json(), wrapper["events"]))
        run.count_answer(response.status_code, body, wrapper["events"])

    fuzz()
    run.require_budget()
    assert {"200", "403", "accepted", "rejected"} <= shown


def test_arbitrary_bodies_never_fail(
    api: tuple[Flask, str], fuzz_run: Callable[[str, str], FuzzRun]
) -> None:
    app, key = api
    run = fuzz_run("events.arbitrary_bodies", EVENTS_API)
    client = app.test_client()
    shown: set[str] = set()

    @fuzz_settings(run.name, run.backend)
    @given(body=bodies)
    def fuzz(body: bytes) -> None:
        response = _post(client, key, body)
        events = _events_of(body)
        shown.update(check_answer(response.status_code, response.get_json(), events))
        run.count_answer(response.status_code, body, events)

    fuzz()
    run.require_budget()
    assert {"200", "400", "rejected"} <= shown


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'[{"id": "\\ud800", "type": "sale"}]', id="lone-surrogate-in-a-value"),
        pytest.param(b'[{"\\udfff": 1}]', id="lone-surrogate-in-a-key"),
        pytest.param(b'[{"id": "\xed\xa0\x80"}]', id="lone-surrogate-as-raw-bytes"),
        pytest.param(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), id="too-deep"),
        pytest.param(b"[" * 400 + b"]" * 400, id="deep-enough-for-the-intake-walks"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeper-than-the-parser-recursion"),
        pytest.param(b"[" + b"9" * 5000 + b"]", id="integer-over-4300-digits"),
    ],
)
def test_bodies_no_batch_can_be_read_from_are_refused_with_a_reason(
    api: tuple[Flask, str], body: bytes
) -> None:
    """Regression: each of these was a 500 (RecursionError, ValueError, UnicodeEncodeError)."""
    app, key = api
    response = _post(app.test_client(), key, body)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_nesting_up_to_the_limit_is_answered_per_event(api: tuple[Flask, str]) -> None:
    app, key = api
    deep = "[" * (MAX_JSON_DEPTH - 2) + "]" * (MAX_JSON_DEPTH - 2)
    body = f'[{{"id": "deep-1", "type": "sale", "extra": {deep}}}]'.encode()
    response = _post(app.test_client(), key, body)
    assert response.status_code == 200
    assert check_answer(200, response.get_json(), [None]) >= {"rejected"}
