"""Validation order of one event: the first failing check names the reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from server.rules.backend import PythonBackend
from server.rules.evaluator import Evaluator, Rejection
from server.rules.partners import parse_partners
from server.rules.program import parse_program

T = "2026-03-01T10:00:00+03:00"
SALE = {"id": "e", "type": "sale", "occurred_at": T, "partner": "P1", "channel": "online",
        "amount": "10", "currency": "RUB"}  # fmt: skip


def reason(*events: object) -> str | None:
    program = parse_program({"program": "p", "currency": "RUB", "rules": []})
    partners = parse_partners(
        {"partners": [{"id": "P1", "type": "ambassador", "region": "A", "status": "active"}]}
    )
    evaluator = Evaluator(program, partners, backend=PythonBackend())
    outcomes = [o for e in events for o in evaluator.process(e)]
    last = outcomes[-1] if outcomes else None
    return last.reason if isinstance(last, Rejection) else None


def without(event: dict, *fields: str) -> dict:
    return {k: v for k, v in event.items() if k not in fields}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("text", "invalid json"),
        ([1, 2], "invalid json"),
        (None, "invalid json"),
        (without(SALE, "id"), "missing field: id"),
        ({**SALE, "id": ""}, "missing field: id"),
        ({**SALE, "id": 7}, "missing field: id"),
        (without(SALE, "id", "occurred_at"), "missing field: id"),
        (without(SALE, "occurred_at"), "missing field: occurred_at"),
        ({**SALE, "occurred_at": "2026-03-01T10:00:00"}, "invalid occurred_at"),
        ({**SALE, "occurred_at": "yesterday"}, "invalid occurred_at"),
        ({**SALE, "occurred_at": 1700000000}, "invalid occurred_at"),
        ({**without(SALE, "type"), "amount": "abc"}, "missing field: type"),
        ({**SALE, "type": "purchase"}, "unknown type"),
        ({**SALE, "type": None}, "missing field: type"),
        (without(SALE, "channel", "amount"), "missing field: channel"),
        (without(SALE, "amount"), "missing field: amount"),
        ({**SALE, "channel": "tv", "amount": "abc"}, "invalid channel"),
        ({**SALE, "amount": "abc", "currency": "USD"}, "invalid amount"),
        ({**SALE, "amount": "NaN"}, "invalid amount"),
        ({**SALE, "amount": "Infinity"}, "invalid amount"),
        ({**SALE, "amount": "0"}, "invalid amount"),
        ({**SALE, "amount": "-5"}, "invalid amount"),
        ({**SALE, "amount": True}, "invalid amount"),
        ({**SALE, "amount": 1.5}, "invalid amount"),  # a float lost its text already
        ({**SALE, "currency": "USD", "partner": "nobody"}, "currency mismatch"),
        ({**SALE, "partner": "nobody"}, "unattributed"),
        ({"id": "l", "type": "lead", "occurred_at": T, "partner": "P1"}, "missing field: channel"),
        (
            {"id": "a", "type": "action", "occurred_at": T, "channel": "online"},
            "missing field: action",
        ),
        (
            {"id": "i", "type": "impressions", "occurred_at": T, "partner": "P1"},
            "missing field: count",
        ),
        ({"id": "i", "type": "impressions", "occurred_at": T, "count": 0}, "invalid count"),
        ({"id": "i", "type": "impressions", "occurred_at": T, "count": "1.5"}, "invalid count"),
        ({"id": "i", "type": "impressions", "occurred_at": T, "count": 10**40}, "invalid count"),
        (
            {"id": "r", "type": "refund", "occurred_at": T, "amount": "1"},
            "missing field: refers_to",
        ),
        (
            {"id": "r", "type": "refund", "occurred_at": T, "refers_to": "x"},
            "missing field: amount",
        ),
        (
            {
                "id": "r",
                "type": "refund",
                "occurred_at": T,
                "refers_to": "x",
                "amount": "1",
                "currency": "EUR",
            },
            "currency mismatch",
        ),
        (
            {"id": "r", "type": "refund", "occurred_at": T, "refers_to": "x", "amount": "1"},
            "unknown sale",
        ),
    ],
)
def test_first_failing_check_names_the_reason(event: dict[str, Any], expected: str) -> None:
    assert reason(event) == expected


def test_duplicate_is_checked_before_the_type() -> None:
    assert reason(SALE, {**SALE, "type": "nonsense"}) == "duplicate id"


def test_amounts_accept_decimal_numbers_and_text() -> None:
    for amount in ("10", "10.5", Decimal("0.01"), 7, "1e2"):
        assert reason({**SALE, "amount": amount}) is None


def test_missing_currency_means_the_programs() -> None:
    assert reason(without(SALE, "currency")) is None
