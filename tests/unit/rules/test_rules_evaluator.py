"""One test per template and per clause of spec/rules.md (and docs/rules.md choices)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.unit.rules.conftest import Evaluate, EventFactory, MakeDict


def cents(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"


def accruals(out: list[dict]) -> list[dict]:
    return [o for o in out if "rejected" not in o]


# Templates -------------------------------------------------------------------------


def test_percent_of_sale(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    out = evaluate(
        [make_rule("cps", "percent_of_sale", rate="7.5")],
        [make_partner("P1")],
        [ev.sale(amount="1234.56")],
    )
    assert out == [
        {"event": "s1", "partner": "P1", "rule": "cps", "kind": "commission",
         "amount": cents(Decimal("1234.56") * Decimal("7.5") / 100), "points": 0,
         "status": "approved"}
    ]  # fmt: skip


def test_tiered_percent_uses_month_to_date_including_this_sale(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    tiers = [{"from": "0", "rate": "3"}, {"from": "10000", "rate": "6"}]
    events = [
        ev.sale(amount="9000", occurred_at="2026-03-10T10:00:00+03:00"),
        ev.sale(amount="2000", occurred_at="2026-03-11T10:00:00+03:00"),  # 11000 → 6 %
        ev.sale(amount="100", occurred_at="2026-04-01T00:30:00+03:00"),  # new month → 3 %
        # processed after the April sale (later instant) but on a local March date → 6 %
        ev.sale(amount="100", occurred_at="2026-03-31T23:40:00+02:00"),
    ]
    out = evaluate([make_rule("t", "tiered_percent", tiers=tiers)], [make_partner("P1")], events)
    assert [(o["event"], o["amount"]) for o in out] == [
        ("s1", "270.00"),
        ("s2", "120.00"),
        ("s3", "3.00"),
        ("s4", "6.00"),
    ]


def test_tiered_percent_counts_only_sales_in_scope_and_no_tier_reached(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    tiers = [{"from": "500", "rate": "10"}, {"from": "1500", "rate": "20"}]
    events = [
        ev.sale(amount="1000", channel="online"),  # outside scope: not counted
        ev.sale(amount="400", channel="offline"),  # 400 < 500: no tier, nothing
        ev.sale(amount="200", channel="offline"),  # 600 → 10 %
    ]
    rules = [make_rule("t", "tiered_percent", {"channels": ["offline"]}, tiers=tiers)]
    out = evaluate(rules, [make_partner("P1")], events)
    assert [(o["event"], o["amount"]) for o in out] == [("s3", "20.00")]


def test_fixed_per_action_lead_and_named_action(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("cpl", "fixed_per_action", event_type="lead", amount="100"),
        make_rule("cpa", "fixed_per_action", event_type="action", action="signup", amount="50"),
        make_rule("any", "fixed_per_action", event_type="action", amount="1"),
    ]
    events = [ev.lead(), ev.action(action="signup"), ev.action(action="download")]
    out = evaluate(rules, [make_partner("P1")], events)
    assert [(o["event"], o["rule"], o["amount"]) for o in out] == [
        ("l1", "cpl", "100.00"),
        ("a2", "cpa", "50.00"),
        ("a2", "any", "1.00"),
        ("a3", "any", "1.00"),
    ]


def test_cpm(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    out = evaluate(
        [make_rule("cpm", "cpm", rate="80")], [make_partner("P1")], [ev.impressions(count=12345)]
    )
    assert out[0]["amount"] == cents(Decimal(12345) * 80 / 1000)


def test_campaign_bonus_only_within_its_period(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    scope = {"valid_from": "2026-03-05", "valid_to": "2026-03-06"}
    events = [
        ev.sale(occurred_at="2026-03-04T23:59:59+03:00"),
        ev.sale(occurred_at="2026-03-05T00:00:00+03:00"),
        ev.sale(occurred_at="2026-03-06T23:59:59+03:00"),
        ev.sale(occurred_at="2026-03-07T00:00:00+03:00"),
        ev.sale(occurred_at="2026-03-06T22:00:00-05:00"),  # local date 6th, UTC 7th
    ]
    out = evaluate(
        [make_rule("c", "campaign_bonus", scope, campaign="spring", rate="2")],
        [make_partner("P1")],
        events,
    )
    assert [(o["event"], o["kind"], o["amount"]) for o in out] == [
        ("s2", "bonus", "20.00"),
        ("s3", "bonus", "20.00"),
        ("s5", "bonus", "20.00"),
    ]


def test_first_purchase_bonus_once_per_customer_any_partner(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [make_rule("w", "first_purchase_bonus", {"partners": ["P2"]}, amount="200")]
    events = [
        ev.sale(partner="P1", customer="k1"),  # k1's first sale, not in scope
        ev.sale(partner="P2", customer="k1"),  # not first any more
        ev.sale(partner="P2", customer="k2"),
        ev.sale(partner="P2"),  # no customer: never a first purchase
    ]
    out = evaluate(rules, [make_partner("P1"), make_partner("P2")], events)
    assert [(o["event"], o["amount"]) for o in out] == [("s3", "200.00")]


@pytest.mark.parametrize(
    ("metric", "threshold", "fires_on"),
    [("sales_count", 3, "s3"), ("sales_amount", "2500", "s3"), ("new_customers", 2, "s4")],
)
def test_goal_bonus_metrics_fire_once_per_period(
    evaluate: Evaluate,
    ev: EventFactory,
    make_rule: MakeDict,
    make_partner: MakeDict,
    metric: str,
    threshold: int | str,
    fires_on: str,
) -> None:
    rules = [
        make_rule(
            "g", "goal_bonus", metric=metric, threshold=threshold, amount="500", period="month"
        )
    ]
    events = [
        ev.sale(amount="1000", customer="k1"),
        ev.sale(amount="1000", customer="k1"),
        ev.sale(amount="1000"),
        ev.sale(amount="1000", customer="k2"),
        ev.sale(amount="1000", customer="k3"),
    ]
    out = evaluate(rules, [make_partner("P1")], events)
    assert [(o["event"], o["kind"], o["amount"]) for o in out] == [(fires_on, "bonus", "500.00")]


def test_goal_bonus_quarter_resets_next_quarter_not_next_month(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule(
            "g", "goal_bonus", metric="sales_count", threshold=2, amount="1", period="quarter"
        )
    ]
    events = [
        ev.sale(occurred_at="2026-01-10T10:00:00+03:00"),
        ev.sale(occurred_at="2026-02-10T10:00:00+03:00"),  # fires (Q1)
        ev.sale(occurred_at="2026-03-10T10:00:00+03:00"),  # already paid in Q1
        ev.sale(occurred_at="2026-04-10T10:00:00+03:00"),
        ev.sale(occurred_at="2026-05-10T10:00:00+03:00"),  # fires (Q2)
    ]
    out = evaluate(rules, [make_partner("P1")], events)
    assert [o["event"] for o in out] == ["s2", "s5"]


def test_new_customers_counts_first_sales_in_scope_only(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule(
            "g", "goal_bonus", {"channels": ["offline"]},
            metric="new_customers", threshold=2, amount="10", period="month",
        )
    ]  # fmt: skip
    events = [
        ev.sale(customer="k1", channel="online"),  # first sale, out of scope
        ev.sale(customer="k1", channel="offline"),  # in scope, not a first sale
        ev.sale(customer="k2", channel="offline"),  # 1
        ev.sale(partner="P2", customer="k3", channel="offline"),  # another partner
        ev.sale(customer="k4", channel="offline"),  # 2 → fires
    ]
    out = evaluate(rules, [make_partner("P1"), make_partner("P2")], events)
    assert [(o["event"], o["partner"]) for o in out] == [("s5", "P1")]


def test_reward_has_zero_amount_and_text(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [make_rule("r", "reward", metric="sales_count", threshold=1, reward="Обучение")]
    out = evaluate(rules, [make_partner("P1")], [ev.sale(), ev.sale()])
    assert out == [
        {"event": "s1", "partner": "P1", "rule": "r", "kind": "reward", "amount": "0.00",
         "points": 0, "reward": "Обучение", "status": "approved"}
    ]  # fmt: skip


def test_multi_level_override_levels_and_inactive_receivers(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    partners = [
        make_partner("TOP"),
        make_partner("MID", parent="TOP", status="suspended"),
        make_partner("LOW", parent="MID"),
        make_partner("SELLER", parent="LOW"),
    ]
    rules = [make_rule("o", "multi_level_override", rates=["3", "2", "1", "0.5"])]
    out = evaluate(rules, partners, [ev.sale(partner="SELLER", amount="1000")])
    # level 1 LOW, level 2 MID (skipped), level 3 TOP at its own rate; chain ends at TOP
    assert [(o["partner"], o["level"], o["amount"]) for o in out] == [
        ("LOW", 1, "30.00"),
        ("TOP", 3, "10.00"),
    ]


def test_multi_level_override_chain_stops_when_rates_run_out(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    partners = [make_partner("A"), make_partner("B", parent="A"), make_partner("C", parent="B")]
    out = evaluate(
        [make_rule("o", "multi_level_override", rates=["1"])], partners, [ev.sale(partner="C")]
    )
    assert [(o["partner"], o["level"]) for o in out] == [("B", 1)]


def test_points_per_amount_floor(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [make_rule("p", "points_per_amount", per="100", points=3)]
    out = evaluate(rules, [make_partner("P1")], [ev.sale(amount="999.99"), ev.sale(amount="99")])
    assert [(o["kind"], o["amount"], o["points"]) for o in out] == [("points", "0.00", 27)]


# Holds -----------------------------------------------------------------------------


def test_hold_large_sale_holds_every_accrual_and_names_first_hold_rule(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("cps", "percent_of_sale", rate="5"),
        make_rule("w", "first_purchase_bonus", amount="100"),
        make_rule("o", "multi_level_override", rates=["1"]),
        make_rule("pts", "points_per_amount", per="10", points=1),
        make_rule("self", "hold_self_referral"),
        make_rule("big", "hold_large_sale", above="1000"),
        make_rule("bigger", "hold_large_sale", above="10"),
    ]
    partners = [make_partner("UP"), make_partner("P1", parent="UP")]
    out = evaluate(
        rules, partners, [ev.sale(amount="1000", customer="k"), ev.sale(amount="1000.01")]
    )
    first, second = [o for o in out if o["event"] == "s1"], [o for o in out if o["event"] == "s2"]
    assert {(o["status"], o["reason"]) for o in first} == {("held", "bigger")}
    assert {(o["status"], o["reason"]) for o in second} == {("held", "big")}
    assert [o["rule"] for o in first] == ["cps", "w", "o", "pts"]


def test_hold_scope_is_matched_against_the_sale(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("cps", "percent_of_sale", rate="5"),
        make_rule("big", "hold_large_sale", {"channels": ["offline"]}, above="10"),
    ]
    out = evaluate(
        rules, [make_partner("P1")], [ev.sale(channel="online"), ev.sale(channel="offline")]
    )
    assert [o["status"] for o in out] == ["approved", "held"]


def test_hold_velocity_window_boundaries(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("cps", "percent_of_sale", rate="1"),
        make_rule("fast", "hold_velocity", max_sales=2, within_hours=24),
    ]
    events = [
        ev.sale(customer="k", occurred_at="2026-03-01T10:00:00+00:00"),
        ev.sale(partner="P2", customer="k", occurred_at="2026-03-01T20:00:00+00:00"),
        # 24 h after the first exactly: the first is outside (t - 24h, t] → 2 sales
        ev.sale(customer="k", occurred_at="2026-03-02T10:00:00+00:00"),
        # 1 µs before 24 h after the second: 2nd, 3rd, this → 3 > 2 → held
        ev.sale(customer="k", occurred_at="2026-03-02T19:59:59.999999+00:00"),
        ev.sale(customer="other", occurred_at="2026-03-02T19:59:59.999999+00:00"),
        ev.sale(occurred_at="2026-03-02T19:59:59.999999+00:00"),  # no customer: never held
    ]
    out = evaluate(rules, [make_partner("P1"), make_partner("P2")], events)
    assert [(o["event"], o["status"]) for o in out] == [
        ("s1", "approved"),
        ("s2", "approved"),
        ("s3", "approved"),
        ("s4", "held"),
        ("s5", "approved"),
        ("s6", "approved"),
    ]


def test_hold_velocity_counts_held_sales(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("cps", "percent_of_sale", rate="1"),
        make_rule("fast", "hold_velocity", max_sales=1, within_hours=1000),
    ]
    out = evaluate(rules, [make_partner("P1")], [ev.sale(customer="k") for _ in range(3)])
    assert [o["status"] for o in out] == ["approved", "held", "held"]


def test_hold_self_referral(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [make_rule("cps", "percent_of_sale", rate="1"), make_rule("self", "hold_self_referral")]
    partners = [make_partner("P1", customer_ref="me")]
    out = evaluate(rules, partners, [ev.sale(customer="me"), ev.sale(customer="you"), ev.sale()])
    assert [(o["status"], o.get("reason")) for o in out] == [
        ("held", "self"),
        ("approved", None),
        ("approved", None),
    ]


def test_holds_do_not_apply_to_leads(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("cpl", "fixed_per_action", event_type="lead", amount="5"),
        make_rule("all", "hold_large_sale", above="0"),
    ]
    out = evaluate(rules, [make_partner("P1")], [ev.lead()])
    assert out[0]["status"] == "approved"


# Refunds ---------------------------------------------------------------------------


def test_refund_partial_multiple_and_exceeding(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("cps", "percent_of_sale", rate="10"),
        make_rule("w", "first_purchase_bonus", amount="50"),
        make_rule("pts", "points_per_amount", per="1", points=1),
    ]
    events = [
        ev.sale(amount="1000", customer="k", id="s"),
        ev.refund("s", "300"),
        ev.refund("s", "700"),
        ev.refund("s", "0.01"),
    ]
    out = evaluate(rules, [make_partner("P1")], events)
    reversals = [o for o in out if o.get("reverses")]
    assert [(o["event"], o["rule"], o["amount"], o["points"]) for o in reversals] == [
        ("r2", "cps", "-30.00", 0),
        ("r2", "pts", "0.00", -300),
        ("r3", "cps", "-70.00", 0),
        ("r3", "pts", "0.00", -700),
    ]
    assert out[-1] == {"event": "r4", "rejected": "refund exceeds sale"}


def test_refund_rounding_is_clamped_to_the_original(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    # 0.05 commission; two half refunds would each round to 0.03 → the second is clamped
    rules = [make_rule("cps", "percent_of_sale", rate="5")]
    events = [ev.sale(amount="1", id="s"), ev.refund("s", "0.5"), ev.refund("s", "0.5")]
    out = evaluate(rules, [make_partner("P1")], events)
    assert [o["amount"] for o in out] == ["0.05", "-0.03", "-0.02"]


def test_refund_of_unknown_or_rejected_sale(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [make_rule("cps", "percent_of_sale", rate="5")]
    events = [
        ev.sale(partner="NOBODY", id="bad"),
        ev.lead(id="lead"),
        ev.refund("bad", "1"),
        ev.refund("lead", "1"),
        ev.refund("nothing", "1"),
    ]
    out = evaluate(rules, [make_partner("P1")], events)
    assert [o.get("rejected") for o in out] == ["unattributed"] + ["unknown sale"] * 3


def test_refund_reversal_keeps_receiver_level_status_and_reason(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("o", "multi_level_override", rates=["10"]),
        make_rule("big", "hold_large_sale", above="10"),
    ]
    partners = [make_partner("UP"), make_partner("P1", parent="UP")]
    out = evaluate(rules, partners, [ev.sale(amount="100", id="s"), ev.refund("s", "50")])
    assert out[1] == {
        "event": "r2", "partner": "UP", "rule": "o", "kind": "override", "amount": "-5.00",
        "points": 0, "level": 1, "status": "held", "reason": "big", "reverses": "s",
    }  # fmt: skip


def test_refund_without_reversible_accruals_is_silent(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("w", "first_purchase_bonus", amount="50"),
        make_rule("r", "reward", metric="sales_count", threshold=1, reward="x"),
    ]
    out = evaluate(
        rules, [make_partner("P1")], [ev.sale(customer="k", id="s"), ev.refund("s", "1")]
    )
    assert [o["event"] for o in out] == ["s", "s"]


def test_refund_points_floor_and_zero_reversals_omitted(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("cps", "percent_of_sale", rate="1"),
        make_rule("pts", "points_per_amount", per="100", points=1),
    ]
    events = [ev.sale(amount="300", id="s"), ev.refund("s", "50")]  # 3 × 50/300 = 0.5 → 0
    out = evaluate(rules, [make_partner("P1")], events)
    assert [(o["event"], o["rule"], o["amount"], o["points"]) for o in out] == [
        ("s", "cps", "3.00", 0),
        ("s", "pts", "0.00", 3),
        ("r2", "cps", "-0.50", 0),
    ]


# Processing order, validation, attribution ------------------------------------------


def test_processing_order_is_instant_then_id(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [make_rule("cps", "percent_of_sale", rate="1")]
    events = [
        ev.sale(id="b", occurred_at="2026-03-01T10:00:00+03:00"),
        ev.sale(id="a", occurred_at="2026-03-01T07:00:00+00:00"),  # same instant, smaller id
        ev.sale(id="c", occurred_at="2026-03-01T09:00:00+03:00"),  # earlier instant
    ]
    out = evaluate(rules, [make_partner("P1")], events)
    assert [o["event"] for o in out] == ["c", "a", "b"]


def test_duplicate_id_earlier_stands_even_if_rejected(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [make_rule("cps", "percent_of_sale", rate="1")]
    events = [
        ev.sale(id="x", amount="5", occurred_at=at_hours(2)),
        ev.sale(id="x", amount="abc", occurred_at=at_hours(1)),  # earlier: rejected, stands
        ev.sale(id="y", occurred_at=at_hours(3)),
        ev.sale(id="y", occurred_at=at_hours(3)),  # identical: the second is the duplicate
    ]
    out = evaluate(rules, [make_partner("P1")], events)
    assert out == [
        {"event": "x", "rejected": "invalid amount"},
        {"event": "x", "rejected": "duplicate id"},
        {"event": "y", "partner": "P1", "rule": "cps", "kind": "commission", "amount": "10.00",
         "points": 0, "status": "approved"},
        {"event": "y", "rejected": "duplicate id"},
    ]  # fmt: skip


def at_hours(hours: int) -> str:
    return f"2026-03-01T{hours:02d}:00:00+03:00"


def test_unorderable_lines_come_first_in_file_order(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    events = [
        ev.sale(id="ok"),
        "not json",
        {"id": "t1", "type": "sale", "occurred_at": "2026-03-01"},
        {"type": "sale", "occurred_at": at_hours(1)},
        {"id": "t2", "type": "sale"},
    ]
    out = evaluate([], [make_partner("P1")], events)
    assert out == [
        {"event": None, "rejected": "invalid json"},
        {"event": "t1", "rejected": "invalid occurred_at"},
        {"event": None, "rejected": "missing field: id"},
        {"event": "t2", "rejected": "missing field: occurred_at"},
    ]


def test_inactive_partner_rejected_even_if_later_code_resolves(
    evaluate: Evaluate, ev: EventFactory, make_partner: MakeDict
) -> None:
    partners = [
        make_partner("OFF", status="onboarding", codes={"promo": ["P"]}),
        make_partner("ON", codes={"referral": ["R"]}),
    ]
    events = [
        ev.sale(partner=None, promo_code="P", referral="R"),
        ev.sale(partner="missing", qr_token="nope", promo_code="nope", referral="R"),
        ev.sale(partner="OFF", referral="R"),
    ]
    out = evaluate([], partners, events)
    assert out == [
        {"event": "s1", "rejected": "partner not active"},
        {"event": "s3", "rejected": "partner not active"},
    ]


def test_attribution_order_partner_qr_promo_referral(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    partners = [
        make_partner("BYID"),
        make_partner("QR", codes={"qr": ["q"]}),
        make_partner("PROMO", codes={"promo": ["p", "Case"]}),
        make_partner("REF", codes={"referral": ["r"]}),
    ]
    rules = [make_rule("cps", "percent_of_sale", rate="1")]
    events = [
        ev.sale(partner="BYID", qr_token="q", promo_code="p", referral="r"),
        ev.sale(partner=None, qr_token="q", promo_code="p", referral="r"),
        ev.sale(partner=None, promo_code="p", referral="r"),
        ev.sale(partner=None, referral="r"),
        ev.sale(partner=None, promo_code="case"),  # codes are case-sensitive
    ]
    out = evaluate(rules, partners, events)
    assert [o.get("partner", o.get("rejected")) for o in out] == [
        "BYID", "QR", "PROMO", "REF", "unattributed",
    ]  # fmt: skip


def test_scope_keys(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    partners = [
        make_partner("A1", region="A", type="ambassador"),
        make_partner("B1", region="B", type="offline_point"),
    ]
    rules = [
        make_rule("region-a", "percent_of_sale", {"regions": ["A"]}, rate="1"),
        make_rule("offline", "percent_of_sale", {"channels": ["offline"]}, rate="1"),
        make_rule("amb", "percent_of_sale", {"partner_types": ["ambassador"]}, rate="1"),
        make_rule("b1", "percent_of_sale", {"partners": ["B1"]}, rate="1"),
        make_rule("premium", "percent_of_sale", {"categories": ["premium"]}, rate="1"),
        make_rule("cpm-online", "cpm", {"channels": ["online"]}, rate="1000"),
        make_rule("cpm-a", "cpm", {"regions": ["A"]}, rate="1000"),
        make_rule("none", "percent_of_sale", {"regions": []}, rate="1"),
    ]
    events = [
        ev.sale(partner="A1", channel="online"),
        ev.sale(partner="B1", channel="offline", category="premium"),
        ev.sale(partner="B1", channel="online", region="A"),  # event region wins
        ev.sale(partner="A1", channel="online", region="C", category="Premium"),
        ev.impressions(partner="A1", count=1),  # no channel: never matches channels
    ]
    out = evaluate(rules, partners, events)
    by_event: dict[str, list[str]] = {}
    for o in out:
        by_event.setdefault(o["event"], []).append(o["rule"])
    assert by_event == {
        "s1": ["region-a", "amb"],
        "s2": ["offline", "b1", "premium"],
        "s3": ["region-a", "b1"],
        "s4": ["amb"],
        "i5": ["cpm-a"],
    }


def test_zero_accruals_are_suppressed_but_rewards_are_not(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("tiny", "percent_of_sale", rate="0.1"),
        make_rule("zero", "first_purchase_bonus", amount="0"),
        make_rule("pts", "points_per_amount", per="100", points=1),
        make_rule("r", "reward", metric="sales_count", threshold=1, reward="cup"),
    ]
    out = evaluate(rules, [make_partner("P1")], [ev.sale(amount="4.99", customer="k")])
    assert [o["rule"] for o in out] == ["r"]  # 0.00499 rounds to 0.00


def test_rounding_half_up_per_accrual(
    evaluate: Evaluate, ev: EventFactory, make_rule: MakeDict, make_partner: MakeDict
) -> None:
    rules = [
        make_rule("a", "percent_of_sale", rate="0.5"),
        make_rule("b", "percent_of_sale", rate="0.5"),
    ]
    out = evaluate(rules, [make_partner("P1")], [ev.sale(amount="1.01")])  # 0.00505 each
    assert [o["amount"] for o in out] == ["0.01", "0.01"]


def test_accepted_event_without_accruals_prints_nothing(
    evaluate: Evaluate, ev: EventFactory, make_partner: MakeDict
) -> None:
    assert evaluate([], [make_partner("P1")], [ev.sale(), ev.lead()]) == []


def test_refund_reverses_after_the_partner_became_inactive() -> None:
    from server.rules.backend import PythonBackend
    from server.rules.evaluator import Evaluator
    from server.rules.output import outcome_to_json
    from server.rules.partners import parse_partners
    from server.rules.program import parse_program
    from server.rules.state import MemoryState

    program = parse_program(
        {"program": "p", "currency": "RUB",
         "rules": [{"id": "cps", "template": "percent_of_sale", "params": {"rate": "10"}}]}
    )  # fmt: skip
    seller = {"id": "P1", "type": "ambassador", "region": "A", "parent": None}
    state = MemoryState()
    before = Evaluator(
        program,
        parse_partners({"partners": [{**seller, "status": "active"}]}),
        state,
        PythonBackend(),
    )
    after = Evaluator(
        program,
        parse_partners({"partners": [{**seller, "status": "suspended"}]}),
        state,
        PythonBackend(),
    )
    sale = {"id": "s", "type": "sale", "occurred_at": at_hours(1), "partner": "P1",
            "channel": "online", "amount": "100"}  # fmt: skip
    refund = {
        "id": "r",
        "type": "refund",
        "occurred_at": at_hours(2),
        "refers_to": "s",
        "amount": "100",
    }
    assert [outcome_to_json(o)["amount"] for o in before.process(sale)] == ["10.00"]
    assert [outcome_to_json(o)["amount"] for o in after.process(refund)] == ["-10.00"]
