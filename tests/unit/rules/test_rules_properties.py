"""Properties over generated programs and events (hypothesis).

Order independence, determinism, refund bounds, the durable_rules backend against the
plain-Python matcher (with and without the signature cache), the SQLite state
against the in-memory one, and several programs side by side against each program alone.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from server.rules.backend import DurableRulesBackend, PythonBackend
from server.rules.evaluator import Evaluator, Rejection
from server.rules.output import outcome_to_json
from server.rules.partners import parse_partners
from server.rules.program import parse_program
from server.rules.sorting import sorted_events
from server.rules.sqlite_state import SqliteState
from tests.unit.rules.conftest import Evaluate, evaluate_programs

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
#: the settings of a search (``find``) that the generators can reach a case: generation
#: only, the first hit is enough (shrinking it would take minutes); derandomized so that
#: the search is the same on every run (no flaky misses)
FIRST_HIT = settings(
    # the first hit ends the search; a generous ceiling for an unlucky draw
    max_examples=10_000,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    derandomize=True,
    # the time-based check would make the same search fail on a loaded machine
    suppress_health_check=[HealthCheck.too_slow],
)
REGIONS = ["A", "B", "Ж"]
CUSTOMERS = ["k1", "k2", "k3", "k4"]
PARTNER_IDS = [f"P{i}" for i in range(6)]
DAYS = ["2026-03-30", "2026-03-31", "2026-04-01"]
TAGS = ["vip", "pilot"]

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
                # parents only among earlier partners: never a cycle. The one just
                # before is drawn as often as all the others, so chains two or three
                # deep (level 2 and 3 of an override) are common, not rare.
                "parent": draw(
                    st.one_of(
                        st.none(), st.just(PARTNER_IDS[i - 1]), st.sampled_from(PARTNER_IDS[:i])
                    )
                )
                if i
                else None,
                "status": draw(st.sampled_from(["active"] * 4 + ["suspended", "onboarding"])),
                "customer_ref": draw(st.one_of(st.none(), st.sampled_from(CUSTOMERS))),
                "codes": {"promo": [f"C{i}"]},
                "tags": draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True)),
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
        scope["tags"] = draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))
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
    by_template: dict[str, dict[str, Any]] = {
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
    }
    return by_template[template]


@st.composite
def rules(draw: st.DrawFn, min_size: int = 0) -> list[dict[str, Any]]:
    templates = draw(st.lists(st.sampled_from([
        "percent_of_sale", "tiered_percent", "fixed_per_action", "cpm", "campaign_bonus",
        "first_purchase_bonus", "goal_bonus", "reward", "multi_level_override",
        "points_per_amount", "hold_large_sale", "hold_velocity", "hold_self_referral",
    ]), min_size=min_size, max_size=8))  # fmt: skip
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


class Case(NamedTuple):
    """One generated run: a program, its partners and their events (``evaluate(*case)``)."""

    program: list[dict[str, Any]]
    people: list[dict[str, Any]]
    events: list[dict[str, Any]]


cases = st.builds(Case, rules(), partners(), event_lists())


@PROPERTY_SETTINGS
@given(cases, st.randoms(use_true_random=False))
def test_shuffled_input_gives_the_same_output(
    evaluate: Evaluate,
    case: Case,
    rng: random.Random,
) -> None:
    shuffled = list(case.events)
    rng.shuffle(shuffled)
    assert evaluate(case.program, case.people, shuffled) == evaluate(*case)


@PROPERTY_SETTINGS
@given(cases)
def test_rerunning_gives_identical_output(
    evaluate: Evaluate,
    case: Case,
) -> None:
    assert evaluate(*case) == evaluate(*case)


@PROPERTY_SETTINGS
@given(cases)
def test_refunds_never_take_more_than_was_paid(
    evaluate: Evaluate,
    case: Case,
) -> None:
    out = evaluate(*case)
    paid: dict[tuple, Decimal] = defaultdict(Decimal)
    points: dict[tuple, int] = defaultdict(int)
    reversed_money: dict[tuple, Decimal] = defaultdict(Decimal)
    reversed_points: dict[tuple, int] = defaultdict(int)
    sale_of_refund = {e["id"]: e.get("refers_to") for e in case.events}
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
@given(cases)
def test_durable_rules_backend_agrees_with_plain_python(
    evaluate: Evaluate,
    case: Case,
) -> None:
    reference = evaluate(*case, backend=PythonBackend(), cache_size=0)
    assert evaluate(*case, backend=DurableRulesBackend(), cache_size=0) == reference
    assert evaluate(*case, backend=DurableRulesBackend()) == reference
    assert evaluate(*case, backend=PythonBackend()) == reference


@settings(max_examples=30, deadline=None)
@given(cases)
def test_sqlite_state_agrees_with_memory_state(
    evaluate: Evaluate,
    case: Case,
) -> None:
    with SqliteState() as state:
        assert evaluate(*case, state=state) == evaluate(*case)


def _reaching(
    wanted: Callable[[dict[str, Any]], bool], evaluate: Evaluate
) -> Callable[[tuple[list[dict[str, Any]], ...]], bool]:
    """The search's condition. A closure, not a lambda with ``wanted`` as a default: the
    derandomized seed is a digest of the condition's signature, and a default's repr
    holds its memory address, so the search changed with whatever else was imported
    (it missed a case when the integration tests were collected too)."""

    def reaches(case: tuple[list[dict[str, Any]], ...]) -> bool:
        return any(wanted(line) for line in evaluate(*case))

    return reaches


def test_generators_reach_holds_reversals_and_rejections(evaluate: Evaluate) -> None:
    """Guard against vacuous properties: the generators can produce every kind of line."""
    for wanted in (
        lambda line: "reverses" in line,
        lambda line: line.get("status") == "held",
        lambda line: line.get("level") == 2,
        lambda line: line.get("rejected") == "refund exceeds sale",
    ):
        find(
            cases,
            _reaching(wanted, evaluate),
            settings=FIRST_HIT,
        )


# Several programs side by side ------------------------------------------------------

GROUPS = ("one", "two")


#: programs, partners, events and each event's group
Deployment = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]


@st.composite
def split_deployments(
    draw: st.DrawFn,
) -> Deployment:
    """Two programs whose enrolments split the partners, and events in which every
    customer buys from one program's partners only.

    That is the exception to "side by side = each alone": first purchases, new customers
    and velocity are the deployment's (spec §6), so a customer who bought in both
    programs would make a program alone see fewer of their sales. Returns programs,
    partners, events and each event's group.
    """
    people = draw(partners())
    group = {p["id"]: draw(st.sampled_from(GROUPS)) for p in people}
    by_tags = draw(st.booleans())
    for p in people:
        if p.get("customer_ref"):
            p["customer_ref"] = f"{group[p['id']]}-{p['customer_ref']}"
        if by_tags:  # enrolment by a group tag, beside the generated tags
            p["tags"] = [*p["tags"], f"in-{group[p['id']]}"]
    programs = []
    for name in GROUPS:
        members = [p["id"] for p in people if group[p["id"]] == name]
        enrolment = {"tags": [f"in-{name}"]} if by_tags else {"partners": members}
        # at least one rule each: a program with none can only show that nothing pays
        programs.append({"program": name, "rules": draw(rules(min_size=1)), "enrolment": enrolment})
    events: list[dict[str, Any]] = []
    event_group: dict[str, str] = {}
    for i in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["sale"] * 5 + ["refund"] * 2 + ["lead", "impressions"]))
        day = draw(st.sampled_from(DAYS))
        hour = draw(st.integers(0, 3))
        event: dict[str, Any] = {
            "id": f"e{i}",
            "occurred_at": f"{day}T{hour:02d}:00:00{draw(st.sampled_from(['+03:00', '+00:00']))}",
        }
        sales = [e for e in events if e.get("type") == "sale"]
        if kind == "refund" and sales:
            sale = draw(st.sampled_from(sales))
            event.update(type="refund", refers_to=sale["id"], amount=draw(amounts))
            event_group[event["id"]] = event_group[sale["id"]]
        else:
            kind = "sale" if kind == "refund" else kind
            who = draw(st.sampled_from(PARTNER_IDS))
            event_group[event["id"]] = group[who]
            attribution = {"partner": who} if draw(st.booleans()) else {"promo_code": f"C{who[1:]}"}
            event.update(type=kind, channel=draw(st.sampled_from(["online", "offline"])))
            event.update(attribution)
            if kind == "impressions":
                event["count"] = draw(st.integers(1, 5000))
            if kind == "sale":
                event["amount"] = draw(amounts) if draw(st.integers(0, 9)) else "abc"
                if draw(st.booleans()):
                    event["customer"] = f"{group[who]}-{draw(st.sampled_from(CUSTOMERS))}"
                if draw(st.integers(0, 4)) == 0:
                    event["region"] = draw(st.sampled_from(REGIONS))
        events.append(event)
    return programs, people, events, event_group


def _each_alone(
    programs: list[dict[str, Any]],
    people: list[dict[str, Any]],
    events: list[dict[str, Any]],
    event_group: dict[str, str],
) -> dict[str, list[dict[str, Any]]]:
    """Each program alone over its partners' events, lines grouped by event."""
    by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for program in programs:
        own = [e for e in events if event_group[e["id"]] == program["program"]]
        for line in evaluate_programs([program], people, own):
            by_event[line["event"]].append(line)
    return by_event


@PROPERTY_SETTINGS
@given(split_deployments())
def test_programs_side_by_side_give_each_programs_own_lines(deployment: Deployment) -> None:
    programs, people, events, event_group = deployment
    together = evaluate_programs(programs, people, events)
    alone = _each_alone(programs, people, events, event_group)
    order = list(dict.fromkeys(line["event"] for line in together))
    assert set(order) == set(alone)
    assert together == [line for event in order for line in alone[event]]
    # file order of the programs changes nothing
    assert evaluate_programs(programs[::-1], people, events) == together


def test_split_deployments_reach_lines_of_both_programs_and_reversals() -> None:
    """Guard against a vacuous property: both programs earn, and refunds reverse."""

    def both_earn_and_reverse(deployment: Deployment) -> bool:
        lines = evaluate_programs(*deployment[:3])
        return {line.get("program") for line in lines} >= set(GROUPS) and any(
            "reverses" in line for line in lines
        )

    find(
        split_deployments(),
        both_earn_and_reverse,
        settings=FIRST_HIT,
    )


@st.composite
def enrolments(draw: st.DrawFn) -> dict[str, Any]:
    """Any enrolment: empty (everybody), keys with empty lists, partners lists, tags."""
    enrolment: dict[str, Any] = {}
    for key, values in (
        ("regions", REGIONS),
        ("partner_types", ["online_affiliate", "offline_point", "ambassador"]),
        ("tags", TAGS),
        ("partners", PARTNER_IDS),
    ):
        if draw(st.integers(0, 2)) == 0:
            enrolment[key] = draw(st.lists(st.sampled_from(values), max_size=3, unique=True))
    return enrolment


@PROPERTY_SETTINGS
@given(rules(), enrolments(), enrolments(), partners(), event_lists(), st.data())
def test_each_programs_lines_side_by_side_are_its_lines_alone(
    first: list[dict[str, Any]],
    first_enrolment: dict[str, Any],
    second_enrolment: dict[str, Any],
    people: list[dict[str, Any]],
    events: list[dict[str, Any]],
    data: st.DataObject,
) -> None:
    """Whatever the enrolments, a program's lines do not depend on the programs beside
    it: customer facts count every accepted sale in both runs (spec §6), rejections are
    the deployment's and appear once in each. Half the time both programs have the same
    rules (same ids), so figures kept by rule id alone would be shared and caught."""
    second = first if data.draw(st.booleans()) else data.draw(rules())
    programs = [
        {"program": "zz", "rules": first, "enrolment": first_enrolment},
        {"program": "aa", "rules": second, "enrolment": second_enrolment},
    ]
    together = evaluate_programs(programs, people, events)
    for program in programs:
        alone = evaluate_programs([program], people, events)
        assert [x for x in together if x.get("program") in (program["program"], None)] == alone
    # within an event, lines come in slug order
    for before, after in itertools.pairwise(together):
        if before["event"] == after["event"] and "program" in before and "program" in after:
            assert before["program"] <= after["program"]


def _admitted_then_applied(
    programs: list[dict[str, Any]], people: list[dict[str, Any]], events: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The workers' two stages in one process: one evaluator of every program admits
    each event; one evaluator per program, each with a state of its own, applies the
    admissions; each event's lines are then put in slug order, as the ledger reads them."""
    specs = [parse_program({"currency": "RUB", **program}) for program in programs]
    directory = parse_partners({"partners": people})
    admitting = Evaluator(specs, directory, backend=PythonBackend())
    applying = [
        Evaluator([spec], directory, backend=PythonBackend(), figures_by_program=True)
        for spec in sorted(specs, key=lambda spec: spec.slug)
    ]
    lines: list[dict[str, Any]] = []
    for event in sorted_events(list(events)):
        admitted = admitting.admit(event)
        if isinstance(admitted, Rejection):
            lines.append(outcome_to_json(admitted, with_program=True))
            continue
        for evaluator in applying:
            lines.extend(outcome_to_json(o, with_program=True) for o in evaluator.apply(admitted))
    return lines


@PROPERTY_SETTINGS
@given(rules(min_size=1), rules(min_size=1), enrolments(), enrolments(), partners(), event_lists())
def test_admitting_once_then_applying_program_by_program_equals_evaluating_together(
    first: list[dict[str, Any]],
    second: list[dict[str, Any]],
    first_enrolment: dict[str, Any],
    second_enrolment: dict[str, Any],
    people: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    """The parallel workers' split (docs/ledger.md): duplicates, customer facts and a
    refund's check against its sale are made once, in processing order, for the whole
    deployment; each program then applies its rules with its own figures and its own
    record of the sale's accruals, and the lines are those of evaluating together."""
    programs = [
        {"program": "one", "rules": first, "enrolment": first_enrolment},
        {"program": "two", "rules": second, "enrolment": second_enrolment},
    ]
    assert _admitted_then_applied(programs, people, events) == evaluate_programs(
        programs, people, events
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules(), rules(), enrolments(), enrolments(), partners(), event_lists())
def test_several_programs_agree_across_backends_and_states(
    first: list[dict[str, Any]],
    second: list[dict[str, Any]],
    first_enrolment: dict[str, Any],
    second_enrolment: dict[str, Any],
    people: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    programs = [
        {"program": "one", "rules": first, "enrolment": first_enrolment},
        {"program": "two", "rules": second, "enrolment": second_enrolment},
    ]
    reference = evaluate_programs(programs, people, events)
    assert evaluate_programs(programs, people, events, backend=DurableRulesBackend()) == reference
    with SqliteState() as state:
        assert evaluate_programs(programs, people, events, state=state) == reference
