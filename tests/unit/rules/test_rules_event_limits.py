"""Edge values an outside probe sent (issue #19): amounts beyond money's range or finer
than a kopeck, blank and padded ids, instants no database can store. One validation,
so ``partnerflow simulate`` answers them as the ledger's intake does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.cli.simulate import simulate
from server.rules.events import MAX_AMOUNT, read_amount, read_header, received_too_late
from tests.unit.rules.test_rules_events import SALE, reason

#: what the probe sent, and the neighbours of the bound
TOO_LARGE = [
    9223372036854775807,  # 2**63 - 1 as a JSON integer
    "92233720368547758.08",
    100000000000000000,
    "1e30",
    "999999999999999999999999",  # 10**24 - 1: accepted by parse_decimal's bound
    "1000000000000",
    "999999999999.991",
    Decimal("1E+12"),
]
OVER_PRECISE = ["0.0000000001", "0.001", "10.005", "1e-3", Decimal("0.009")]


@pytest.mark.parametrize("amount", TOO_LARGE + OVER_PRECISE)
def test_amounts_beyond_money_are_invalid(amount: object) -> None:
    assert read_amount(amount) is None
    assert reason({**SALE, "amount": amount}) == "invalid amount"
    refund = {"id": "r", "type": "refund", "occurred_at": SALE["occurred_at"], "refers_to": "e"}
    assert reason(SALE, {**refund, "amount": amount}) == "invalid amount"


@pytest.mark.parametrize(
    ("amount", "value"),
    [
        ("999999999999.99", MAX_AMOUNT),
        (999999999999, Decimal("999999999999")),
        ("0.01", Decimal("0.01")),
        ("10.500", Decimal("10.5")),  # trailing zeros are the same amount
        ("1.2E+3", Decimal("1200")),
        (Decimal("12.30"), Decimal("12.3")),
    ],
)
def test_amounts_up_to_the_bound_with_kopecks_are_read_exactly(
    amount: object, value: Decimal
) -> None:
    assert read_amount(amount) == value
    assert reason({**SALE, "amount": amount}) is None


@pytest.mark.parametrize(
    ("event_id", "expected"),
    [
        (" ", "invalid id: blank"),
        ("\t\n", "invalid id: blank"),
        ("\u00a0\u2003", "invalid id: blank"),  # no-break and em spaces
        ("\u200b", "invalid id: blank"),  # zero-width space
        (" s1", "invalid id: leading or trailing spaces"),
        ("s1 ", "invalid id: leading or trailing spaces"),
    ],
)
def test_blank_or_padded_ids_are_refused(event_id: str, expected: str) -> None:
    assert reason({**SALE, "id": event_id}) == expected


def test_impressions_have_twelve_digits_at_most() -> None:
    impressions = {"id": "i", "type": "impressions", "occurred_at": SALE["occurred_at"]}
    assert reason({**impressions, "partner": "P1", "count": 10**12}) is None
    assert reason({**impressions, "partner": "P1", "count": "1000000000000"}) is None
    assert reason({**impressions, "count": 10**12 + 1}) == "invalid count"
    assert reason({**impressions, "count": "1000000000000000"}) == "invalid count"


def test_ids_with_inner_spaces_are_ids() -> None:
    assert reason({**SALE, "id": "pos msk 1"}) is None


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC
        "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
    ],
)
def test_instants_outside_utc_years_1_to_9999_are_invalid(moment: str) -> None:
    assert read_header({**SALE, "occurred_at": moment}) == ("e", "invalid occurred_at")


def test_far_future_is_a_rule_of_intake_not_of_the_rules() -> None:
    late = {**SALE, "occurred_at": "9999-12-31T23:59:59+14:00"}
    header = read_header(late)
    assert not isinstance(header, tuple)
    assert reason(late) is None  # simulations replay files of any age
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    day = timedelta(hours=24)
    assert received_too_late(header, now, day) == "invalid occurred_at: more than 24 hours ahead"
    just_inside = read_header({**SALE, "occurred_at": (now + day).isoformat()})
    assert not isinstance(just_inside, tuple)
    assert received_too_late(just_inside, now, day) is None
    just_outside = read_header(
        {**SALE, "occurred_at": (now + day + timedelta(microseconds=1)).isoformat()}
    )
    assert not isinstance(just_outside, tuple)
    assert received_too_late(just_outside, now, day) is not None


PROGRAM = """\
program: p
currency: RUB
rules:
  - {id: pct, template: percent_of_sale, params: {rate: "5"}}
  - {id: welcome, template: first_purchase_bonus, params: {amount: "300"}}
"""
PARTNERS = "partners:\n  - {id: P1, type: ambassador, region: A, status: active}\n"


def test_simulate_rejects_what_the_ledger_rejects(tmp_path: Path) -> None:
    base = {"type": "sale", "partner": "P1", "channel": "online"}
    events = [
        {**base, "id": "big", "occurred_at": "2026-03-01T10:00:00+03:00", "customer": "c1"},
        {**base, "id": "tiny", "occurred_at": "2026-03-01T11:00:00+03:00", "customer": "c2"},
        {**base, "id": " ", "occurred_at": "2026-03-01T12:00:00+03:00", "amount": "5"},
        {**base, "id": "max", "occurred_at": "2026-03-01T13:00:00+03:00", "customer": "c3"},
    ]
    lines = [json.dumps(e) for e in events]
    # amounts as the probe wrote them: a bare JSON integer and decimal text
    lines[0] = lines[0][:-1] + ', "amount": 9223372036854775807}'
    lines[1] = lines[1][:-1] + ', "amount": "0.0000000001"}'
    lines[3] = lines[3][:-1] + ', "amount": 999999999999.99}'
    (tmp_path / "p.yaml").write_text(PROGRAM)
    (tmp_path / "q.yaml").write_text(PARTNERS)
    (tmp_path / "e.jsonl").write_text("\n".join(lines) + "\n")
    args = ["--program", str(tmp_path / "p.yaml"), "--partners", str(tmp_path / "q.yaml")]
    result = CliRunner().invoke(simulate, [*args, "--events", str(tmp_path / "e.jsonl")])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert out == [
        {"event": None, "rejected": "invalid id: blank"},
        {"event": "big", "rejected": "invalid amount"},
        {"event": "tiny", "rejected": "invalid amount"},
        {"event": "max", "partner": "P1", "rule": "pct", "kind": "commission",
         "amount": "50000000000.00", "points": 0, "status": "approved"},
        {"event": "max", "partner": "P1", "rule": "welcome", "kind": "bonus",
         "amount": "300.00", "points": 0, "status": "approved"},
    ]  # fmt: skip
