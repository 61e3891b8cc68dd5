"""Properties over generated programs and events (hypothesis).

Order independence, determinism, refund bounds, the durable_rules backend against the
plain-Python matcher (with and without the signature cache) and the SQLite state
against the in-memory one.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from server.rules.backend import DurableRulesBackend, PythonBackend
from server.rules.sqlite_state import SqliteState

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
REGIONS = ["A", "B", "Ж"]
CUSTOMERS = ["k1", "k2", "k3", "k4"]
PARTNER_IDS = [f"P{i}" for i in range(6)]
DAYS = ["2026-03-30", "2026-03-31", "2026-04-01"]

money = st.sampled_from(["0", "0.5", "1", "2.5", "7", "12.345", "100"])
amounts = st.sampled_from(["1", "10", "99.99", "100", "250.50", "1000", "0.01", "33.33"])


@st.composite
def partners(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i, pid in enumerate(PARTNER_IDS):
        out.append(
            {
                "id": pid,
                "type": draw(st.sampled_from(["online_affiliate", "offline_point", "ambassador"])),
                "region": draw(st.sampled_from(REGIONS)),
                # parents only among earlier partners: never a cycle
                "parent": draw(st.one_of(st.none(), st.sampled_from(PARTNER_IDS[:i])))
                if i
                else None,
                "status": draw(st.sampled_from(["active"] * 4 + ["suspended", "onboarding"])),
                "customer_ref": draw(st.one_of(st.none(), st.sampled_from(CUSTOMERS))),
                "codes": {"promo": [f"C{i}"]},
            }
        )
    return out


@st.composite
def scopes(draw: st.DrawFn) -> dict[str, Any]:
    scope: dict[str, Any] = {}
    if draw(st.booleans()):
        scope["regions"] = draw(
            st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True)
        )
    if draw(st.booleans()):
        scope["channels"] = draw(
            st.lists(st.sampled_from(["online", "offline"]), min_size=1, unique=True)
        )
    if draw(st.integers(0, 3)) == 0:
        scope["partner_types"] = [draw(st.sampled_from(["ambassador", "offline_point"]))]
    if draw(st.integers(0, 3)) == 0:
        scope["partners"] = draw(st.lists(st.sampled_from(PARTNER_IDS), min_size=0, max_size=3))
    if draw(st.integers(0, 3)) == 0:
        scope["categories"] = ["x"]
    if draw(st.integers(0, 3)) == 0:
        scope["valid_from"] = draw(st.sampled_from(DAYS))
    if draw(st.integers(0, 3)) == 0:
        scope["valid_to"] = "2026-03-31"
        scope.pop("valid_from", None) if scope.get("valid_from", "") > "2026-03-31" else None
    return scope


@st.composite
def rule_params(draw: st.DrawFn, template: str) -> dict[str, Any]:
    goal = {
        "metric": draw(st.sampled_from(["new_customers", "sales_amount", "sales_count"])),
        "threshold": draw(st.sampled_from([1, 2, "150"])),
        "period": draw(st.sampled_from(["month", "quarter"])),
    }
    return {
        "percent_of_sale": {"rate": draw(money)},
        "tiered_percent": {
            "tiers": [{"from": "0", "rate": draw(money)}, {"from": "200", "rate": draw(money)}]
        },
        "fixed_per_action": {"event_type": "lead", "amount": draw(money)},
        "cpm": {"rate": draw(money)},
        "campaign_bonus": {"campaign": "c", "rate": draw(money)},
        "first_purchase_bonus": {"amount": draw(money)},
        "goal_bonus": {**goal, "amount": draw(money)},
        "reward": {**goal, "reward": "приз"},
        "multi_level_override": {"rates": draw(st.lists(money, min_size=1, max_size=3))},
        "points_per_amount": {
            "per": draw(st.sampled_from(["1", "7", "100"])),
            "points": draw(st.integers(0, 3)),
        },
        "hold_large_sale": {"above": draw(st.sampled_from(["50", "500"]))},
        "hold_velocity": {
            "max_sales": draw(st.integers(1, 2)),
            "within_hours": draw(st.sampled_from([1, "24", "0.5"])),
        },
        "hold_self_referral": {},
    }[template]


@st.composite
def rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    templates = draw(st.lists(st.sampled_from([
        "percent_of_sale", "tiered_percent", "fixed_per_action", "cpm", "campaign_bonus",
        "first_purchase_bonus", "goal_bonus", "reward", "multi_level_override",
        "points_per_amount", "hold_large_sale", "hold_velocity", "hold_self_referral",
    ]), max_size=8))  # fmt: skip
    return [
        {"id": f"r{i}", "template": t, "scope": draw(scopes()), "params": draw(rule_params(t))}
        for i, t in enumerate(templates)
    ]


@st.composite
def event_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["sale"] * 5 + ["refund"] * 2 + ["lead", "impressions", "dup"]))
        day = draw(st.sampled_from(DAYS))
        hour = draw(st.integers(0, 3))
        event: dict[str, Any] = {
            "id": f"e{i}",
            "occurred_at": f"{day}T{hour:02d}:00:00{draw(st.sampled_from(['+03:00', '+00:00']))}",
        }
        if kind == "dup" and events:
            events.append(dict(draw(st.sampled_from(events))))
            continue
        if kind == "refund":
            sales = [e["id"] for e in events if e.get("type") == "sale"] or ["nothing"]
            event.update(
                type="refund", refers_to=draw(st.sampled_from(sales)), amount=draw(amounts)
            )
            if draw(st.booleans()):  # often after every sale it may refer to
                event["occurred_at"] = f"2026-04-02T{hour:02d}:00:00+03:00"
        else:
            who = draw(st.sampled_from([*PARTNER_IDS, "nobody"]))
            attribution = {"partner": who} if draw(st.booleans()) else {"promo_code": f"C{who[1:]}"}
            event.update(type=kind if kind != "dup" else "sale", **attribution)
            if event["type"] == "impressions":
                event["count"] = draw(st.integers(1, 5000))
            else:
                event["channel"] = draw(st.sampled_from(["online", "offline"]))
            if event["type"] == "sale":
                # mostly valid; now and then an amount the evaluator must reject
                event["amount"] = draw(amounts) if draw(st.integers(0, 9)) else "abc"
                if draw(st.booleans()):
                    event["customer"] = draw(st.sampled_from(CUSTOMERS))
                if draw(st.integers(0, 3)) == 0:
                    event["category"] = "x"
                if draw(st.integers(0, 4)) == 0:
                    event["region"] = draw(st.sampled_from(REGIONS))
        events.append(event)
    return events


@PROPERTY_SETTINGS
@given(rules(), partners(), event_lists(), st.randoms(use_true_random=False))
def test_shuffled_input_gives_the_same_output(evaluate, program, people, events, rng):
    shuffled = list(events)
    rng.shuffle(shuffled)
    assert evaluate(program, people, shuffled) == evaluate(program, people, events)


@PROPERTY_SETTINGS
@given(rules(), partners(), event_lists())
def test_rerunning_gives_identical_output(evaluate, program, people, events):
    assert evaluate(program, people, events) == evaluate(program, people, events)


@PROPERTY_SETTINGS
@given(rules(), partners(), event_lists())
def test_refunds_never_take_more_than_was_paid(evaluate, program, people, events):
    out = evaluate(program, people, events)
    paid: dict[tuple, Decimal] = defaultdict(Decimal)
    points: dict[tuple, int] = defaultdict(int)
    reversed_money: dict[tuple, Decimal] = defaultdict(Decimal)
    reversed_points: dict[tuple, int] = defaultdict(int)
    sale_of_refund = {e["id"]: e.get("refers_to") for e in events}
    for line in out:
        if "rejected" in line:
            continue
        sale = line.get("reverses") or line["event"]
        key = (sale, line["partner"], line["rule"], line.get("level"))
        if "reverses" in line:
            assert sale_of_refund[line["event"]] == sale
            assert Decimal(line["amount"]) <= 0 and line["points"] <= 0
            reversed_money[key] -= Decimal(line["amount"])
            reversed_points[key] -= line["points"]
        else:
            paid[key] += Decimal(line["amount"])
            points[key] += line["points"]
    for key, amount in reversed_money.items():
        assert amount <= paid[key], key
        assert reversed_points[key] <= points[key], key
    # the sum of a sale's reversals never exceeds its accruals
    per_sale_paid: dict[str, Decimal] = defaultdict(Decimal)
    per_sale_reversed: dict[str, Decimal] = defaultdict(Decimal)
    for key, amount in paid.items():
        per_sale_paid[key[0]] += amount
    for key, amount in reversed_money.items():
        per_sale_reversed[key[0]] += amount
    assert all(per_sale_reversed[s] <= per_sale_paid[s] for s in per_sale_reversed)


@PROPERTY_SETTINGS
@given(rules(), partners(), event_lists())
def test_durable_rules_backend_agrees_with_plain_python(evaluate, program, people, events):
    reference = evaluate(program, people, events, backend=PythonBackend(), cache_size=0)
    assert (
        evaluate(program, people, events, backend=DurableRulesBackend(), cache_size=0) == reference
    )
    assert evaluate(program, people, events, backend=DurableRulesBackend()) == reference
    assert evaluate(program, people, events, backend=PythonBackend()) == reference


@settings(max_examples=30, deadline=None)
@given(rules(), partners(), event_lists())
def test_sqlite_state_agrees_with_memory_state(evaluate, program, people, events):
    with SqliteState() as state:
        assert evaluate(program, people, events, state=state) == evaluate(program, people, events)


def _reaching(wanted, evaluate):
    """The search's condition. A closure, not a lambda with ``wanted`` as a default: the
    derandomized seed is a digest of the condition's signature, and a default's repr
    holds its memory address, so the search changed with whatever else was imported
    (it missed a case when the integration tests were collected too)."""

    def reaches(case):
        return any(wanted(line) for line in evaluate(*case))

    return reaches


def test_generators_reach_holds_reversals_and_rejections(evaluate):
    """Guard against vacuous properties: the generators can produce every kind of line."""
    examples = st.tuples(rules(), partners(), event_lists())
    for wanted in (
        lambda line: "reverses" in line,
        lambda line: line.get("status") == "held",
        lambda line: line.get("level") == 2,
        lambda line: line.get("rejected") == "refund exceeds sale",
    ):
        find(
            examples,
            _reaching(wanted, evaluate),
            # generation only: the first hit is enough, shrinking it would take minutes;
            # derandomized so that the search is the same on every run (no flaky misses)
            settings=settings(
                # the first hit ends the search; a generous ceiling for an unlucky draw
                max_examples=10_000,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                derandomize=True,
                # the time-based check would make the same search fail on a loaded machine
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
