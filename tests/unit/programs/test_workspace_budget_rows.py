"""Budget caps on the rows of an evaluation batch (no database)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from server.campaigns.budget import BudgetCaps, BudgetPools, apply_budget_caps
from server.ledger.models import AccrualKind


def _row(event: str, amount: str, rule: str = "campaign-x", **extra: Any) -> dict[str, Any]:
    return {
        "dedupe_key": f"shop|{event}|{rule}|P1|0",
        "rule_key": rule,
        "partner_id": 1,
        "kind": extra.pop("kind", AccrualKind.bonus),
        "amount": Decimal(amount),
        "points": 0,
        "reverses": None,
        **extra,
    }


def test_the_crossing_accrual_is_cut_and_later_ones_dropped() -> None:
    pools = BudgetPools({1: Decimal("100.00")}, {"campaign-x": 1})
    rows = [
        _row("s1", "60.00"),
        _row("s1", "500.00", rule="online"),  # not a campaign rule: untouched
        _row("s2", "60.00"),
        _row("s3", "10.00"),
    ]
    out = apply_budget_caps(rows, pools)
    assert [(r["rule_key"], r["amount"]) for r in out] == [
        ("campaign-x", Decimal("60.00")),
        ("online", Decimal("500.00")),
        ("campaign-x", Decimal("40.00")),
    ]
    assert pools.remaining[1] == Decimal("0.00")
    assert rows[2]["amount"] == Decimal("60.00")  # the input rows are not changed


def test_two_rules_of_one_campaign_share_its_budget() -> None:
    pools = BudgetPools({1: Decimal("50")}, {"campaign-x": 1, "campaign-x-2": 1})
    out = apply_budget_caps([_row("s1", "30"), _row("s1", "30", rule="campaign-x-2")], pools)
    assert [r["amount"] for r in out] == [Decimal("30"), Decimal("20")]


def test_a_reversal_takes_back_only_what_was_booked_and_frees_budget() -> None:
    caps = BudgetCaps(BudgetPools({1: Decimal("100")}, {"campaign-x": 1}))
    sale = caps.apply([_row("s1", "150")])  # cut to 100
    assert sale[0]["amount"] == Decimal("100")
    refund = caps.apply([_row("r1", "-150", reverses="s1")])
    assert refund[0]["amount"] == Decimal("-100")
    assert caps.pools.remaining[1] == Decimal("100")
    # a dropped accrual's reversal disappears
    caps2 = BudgetCaps(BudgetPools({1: Decimal("0")}, {"campaign-x": 1}))
    assert caps2.apply([_row("s9", "10")]) == []
    assert caps2.apply([_row("r9", "-10", reverses="s9")]) == []


def test_other_kinds_pass() -> None:
    pools = BudgetPools({1: Decimal("0")}, {"campaign-x": 1})
    row = _row("s1", "0", kind=AccrualKind.points, points=5)
    assert apply_budget_caps([row], pools) == [row]
