"""Several programs at once (``spec/rules.md`` section 6), rule by rule.

Each test runs two or three programs side by side through one evaluator and checks one
point of the contract, including edge cases the worked examples do not show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from server.rules.backend import DurableRulesBackend, PythonBackend
from server.rules.evaluator import Evaluator
from server.rules.partners import parse_partners
from server.rules.program import Enrolment, ProgramError, parse_program
from server.rules.sqlite_state import SqliteState
from server.rules.state import MemoryState, PeriodKey
from tests.unit.rules.conftest import EventFactory, evaluate_programs, partner, rule

PERCENT = rule("pay", "percent_of_sale", rate="10")


def program(slug: str, *rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"program": slug, "rules": list(rules or [PERCENT]), **extra}


def earners(lines: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(event, program, partner) of every accrual line."""
    return [(line["event"], line["program"], line["partner"]) for line in lines]


# Who takes part -------------------------------------------------------------------


PEOPLE = [
    partner("A-AFF", region="A", type="online_affiliate", tags=["vip"]),
    partner("A-AMB", region="A", type="ambassador"),
    partner("B-AFF", region="B", type="online_affiliate", tags=["pilot", "vip"]),
    partner("B-SHOP", region="B", type="offline_point"),
]


def enrolled(enrolment: Any) -> list[str]:
    """The partners of ``PEOPLE`` who earn from a program with this enrolment."""
    ev = EventFactory()
    events = [ev.sale(p["id"]) for p in PEOPLE]
    extra = {} if enrolment == "omitted" else {"enrolment": enrolment}
    lines = evaluate_programs([program("p", **extra)], PEOPLE, events)
    return [line["partner"] for line in lines]


@pytest.mark.parametrize(
    ("enrolment", "who"),
    [
        ("omitted", ["A-AFF", "A-AMB", "B-AFF", "B-SHOP"]),
        (None, ["A-AFF", "A-AMB", "B-AFF", "B-SHOP"]),
        ({}, ["A-AFF", "A-AMB", "B-AFF", "B-SHOP"]),
        ({"regions": ["A"]}, ["A-AFF", "A-AMB"]),
        ({"partner_types": ["online_affiliate"]}, ["A-AFF", "B-AFF"]),
        ({"tags": ["pilot"]}, ["B-AFF"]),
        ({"tags": ["pilot", "vip"]}, ["A-AFF", "B-AFF"]),
        # every other named key must match
        ({"regions": ["B"], "partner_types": ["online_affiliate"]}, ["B-AFF"]),
        ({"regions": ["A"], "tags": ["vip"]}, ["A-AFF"]),
        # a listed partner takes part whatever the other keys say
        ({"regions": ["A"], "partners": ["B-SHOP"]}, ["A-AFF", "A-AMB", "B-SHOP"]),
        # naming only partners enrols only those
        ({"partners": ["A-AMB", "B-SHOP"]}, ["A-AMB", "B-SHOP"]),
        ({"partners": ["NOBODY"]}, []),
        # a key with an empty list matches nobody
        ({"regions": []}, []),
        ({"tags": []}, []),
        ({"partners": []}, []),
        ({"regions": [], "partners": ["B-AFF"]}, ["B-AFF"]),
        ({"regions": ["A", "B"], "partner_types": []}, []),
        # a null key is not named, as in scopes
        ({"regions": None}, ["A-AFF", "A-AMB", "B-AFF", "B-SHOP"]),
    ],
)
def test_enrolment_decides_who_earns(enrolment: dict[str, Any], who: list[str]) -> None:
    assert enrolled(enrolment) == who


def test_a_partner_without_a_region_matches_no_region_list() -> None:
    people = [partner("X", region=None)]
    lines = evaluate_programs(
        [program("p", enrolment={"regions": ["A"]})], people, [EventFactory().sale("X")]
    )
    assert lines == []


def test_enrolment_keys_are_validated() -> None:
    with pytest.raises(ProgramError) as info:
        parse_program(
            {
                "program": "p",
                "enrolment": {"partner_types": ["robot"], "customers": ["c1"], "tags": [{}]},
                "rules": [],
            }
        )
    text = str(info.value)
    assert "enrolment.partner_types" in text and "robot" in text
    assert "enrolment.customers: unknown enrolment key" in text
    assert "enrolment.tags" in text
    with pytest.raises(ProgramError, match="enrolment: must be a mapping"):
        parse_program({"program": "p", "enrolment": ["A"], "rules": []})


def test_enrolment_survives_export_and_import() -> None:
    document = {
        "program": "p",
        "currency": "RUB",
        "enrolment": {"regions": ["A"], "tags": ["vip"], "partners": ["X"]},
        "rules": [],
    }
    spec = parse_program(document)
    assert spec.enrolment == Enrolment(regions=("A",), tags=("vip",), partners=("X",))
    assert parse_program(spec.to_dict()) == spec
    assert "enrolment" not in parse_program({"program": "q", "rules": []}).to_dict()


def test_scope_tags_need_one_of_the_credited_partners_tags() -> None:
    rules = [
        rule("vip", "percent_of_sale", {"tags": ["vip"]}, rate="1"),
        rule("pilot-or-gold", "percent_of_sale", {"tags": ["pilot", "gold"]}, rate="2"),
        rule("none", "percent_of_sale", {"tags": []}, rate="3"),
    ]
    ev = EventFactory()
    events = [ev.sale(p["id"], amount="100") for p in PEOPLE]
    for backend in (PythonBackend(), DurableRulesBackend()):
        lines = evaluate_programs([program("p", *rules)], PEOPLE, events, backend=backend)
        assert [(line["partner"], line["rule"]) for line in lines] == [
            ("A-AFF", "vip"),
            ("B-AFF", "vip"),
            ("B-AFF", "pilot-or-gold"),
        ]


def test_override_scope_tags_are_the_sellers() -> None:
    people = [partner("UP", tags=["x"]), partner("S", parent="UP")]
    lines = evaluate_programs(
        [program("p", rule("o", "multi_level_override", {"tags": ["x"]}, rates=["5"]))],
        people,
        [EventFactory().sale("S")],
    )
    assert lines == []


def test_partner_tags_are_validated() -> None:
    from server.rules.partners import PartnersError

    with pytest.raises(PartnersError, match=r"partner 'X'\.tags"):
        parse_partners({"partners": [partner("X", tags=[["nested"]])]})
    directory = parse_partners({"partners": [partner("X", tags=["a", "b", "a"]), partner("Y")]})
    x, y = directory.get("X"), directory.get("Y")
    assert x is not None and y is not None
    assert x.tags == frozenset({"a", "b"})
    assert y.tags == frozenset()


# Once per event -------------------------------------------------------------------


THREE = [program("alpha"), program("beta"), program("gamma")]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda ev: ev.sale("NOBODY"), "unattributed"),
        (lambda ev: ev.sale("SLEEPY"), "partner not active"),
        (lambda ev: ev.sale("P1", amount="-1"), "invalid amount"),
        (lambda ev: ev.sale("P1", currency="EUR"), "currency mismatch"),
        (lambda ev: ev.sale("P1", channel=None), "missing field: channel"),
        (lambda ev: ev.refund("nothing", "1"), "unknown sale"),
    ],
)
def test_a_rejected_event_gives_one_line_whatever_the_number_of_programs(
    make: Callable[[EventFactory], dict[str, Any]], reason: str
) -> None:
    people = [partner("P1"), partner("SLEEPY", status="suspended")]
    lines = evaluate_programs(THREE, people, [make(EventFactory())])
    assert lines == [{"event": lines[0]["event"], "rejected": reason}]


def test_a_duplicate_id_is_rejected_once_even_when_another_program_evaluated_the_first() -> None:
    people = [partner("P1"), partner("P2")]
    ev = EventFactory()
    first = ev.sale("P1", id="same")
    again = ev.sale("P2", id="same")
    programs = [program("one", enrolment={"partners": ["P1"]}), program("two")]
    lines = evaluate_programs(programs, people, [first, again])
    assert lines == [
        {**lines[0], "event": "same", "program": "one", "partner": "P1"},
        {**lines[1], "event": "same", "program": "two", "partner": "P1"},
        {"event": "same", "rejected": "duplicate id"},
    ]


def test_an_event_no_program_evaluates_gives_no_line_but_is_accepted() -> None:
    people = [partner("P1"), partner("LONE", region="Z")]
    ev = EventFactory()
    sale = ev.sale("LONE", amount="100", id="lone-sale")
    events = [
        sale,
        ev.lead("LONE"),
        ev.refund("lone-sale", "60", id="r1"),  # accepted: the sale is known
        ev.refund("lone-sale", "60", id="r2"),  # 120 > 100: rejected, once
        ev.sale("LONE", id="lone-sale"),  # its id was taken
    ]
    programs = [program("a", enrolment={"regions": ["A"]}), program("b", enrolment={"tags": []})]
    assert evaluate_programs(programs, people, events) == [
        {"event": "r2", "rejected": "refund exceeds sale"},
        {"event": "lone-sale", "rejected": "duplicate id"},
    ]


def test_programs_with_different_currencies_or_the_same_slug_cannot_run_together() -> None:
    directory = parse_partners({"partners": [partner("P1")]})
    rub = parse_program({"program": "a", "currency": "RUB", "rules": []})
    eur = parse_program({"program": "b", "currency": "EUR", "rules": []})
    with pytest.raises(ProgramError, match="same currency"):
        Evaluator([rub, eur], directory, backend=PythonBackend())
    with pytest.raises(ProgramError, match="two program files have this slug"):
        Evaluator([rub, rub], directory, backend=PythonBackend())
    with pytest.raises(ProgramError, match="at least one program"):
        Evaluator([], directory, backend=PythonBackend())


def test_currency_is_checked_against_the_deployments_currency() -> None:
    people = [partner("P1")]
    ev = EventFactory()
    programs = [
        {"program": "a", "currency": "USD", "rules": [PERCENT]},
        {"program": "b", "currency": "USD", "rules": [PERCENT]},
    ]
    lines = evaluate_programs(programs, people, [ev.sale(currency="USD"), ev.sale(currency="RUB")])
    assert [line.get("program", line.get("rejected")) for line in lines] == [
        "a",
        "b",
        "currency mismatch",
    ]


# Output order ---------------------------------------------------------------------


def test_lines_come_in_event_then_slug_then_rule_then_level_order() -> None:
    people = [partner("TOP"), partner("MID", parent="TOP"), partner("S", parent="MID")]
    zeta = program(
        "zeta",
        rule("z-override", "multi_level_override", rates=["2", "1"]),
        rule("z-pay", "percent_of_sale", rate="5"),
    )
    alpha = program(
        "alpha",
        rule("a-pay", "percent_of_sale", rate="1"),
        rule("a-points", "points_per_amount", per="10", points=1),
    )
    ev = EventFactory()
    lines = evaluate_programs([zeta, alpha], people, [ev.sale("S", "100"), ev.lead("S")])
    assert [(x["event"], x["program"], x["rule"], x["partner"]) for x in lines] == [
        ("s1", "alpha", "a-pay", "S"),
        ("s1", "alpha", "a-points", "S"),
        ("s1", "zeta", "z-override", "MID"),
        ("s1", "zeta", "z-override", "TOP"),
        ("s1", "zeta", "z-pay", "S"),
    ]
    assert [x.get("level") for x in lines] == [None, None, 1, 2, None]


def test_leads_and_impressions_are_evaluated_by_every_enrolled_program() -> None:
    people = [partner("P1"), partner("P2", region="B")]
    lead_pay = rule("cpl", "fixed_per_action", event_type="lead", amount="7")
    views = rule("cpm", "cpm", rate="2")
    programs = [
        program("all", lead_pay, views),
        program("only-a", lead_pay, views, enrolment={"regions": ["A"]}),
    ]
    ev = EventFactory()
    events = [ev.lead("P1"), ev.lead("P2"), ev.impressions("P2", count=1000)]
    assert earners(evaluate_programs(programs, people, events)) == [
        ("l1", "all", "P1"),
        ("l1", "only-a", "P1"),
        ("l2", "all", "P2"),
        ("i3", "all", "P2"),
    ]


# Per program ----------------------------------------------------------------------


def test_month_to_date_tiers_count_only_their_own_programs_sales() -> None:
    # both programs name their rule "tiers": their figures must still be apart
    tiers: dict[str, Any] = {"tiers": [{"from": "0", "rate": "1"}, {"from": "150", "rate": "10"}]}
    online = program("online", rule("tiers", "tiered_percent", {"channels": ["online"]}, **tiers))
    anywhere = program("anywhere", rule("tiers", "tiered_percent", **tiers))
    ev = EventFactory()
    events = [
        ev.sale("P1", "100", channel="online"),
        ev.sale("P1", "100", channel="offline"),
        ev.sale("P1", "100", channel="online"),
    ]
    lines = evaluate_programs([online, anywhere], [partner("P1")], events)
    assert [(x["event"], x["program"], x["amount"]) for x in lines] == [
        ("s1", "anywhere", "1.00"),
        ("s1", "online", "1.00"),
        ("s2", "anywhere", "10.00"),
        ("s3", "anywhere", "10.00"),
        ("s3", "online", "10.00"),
    ]


def test_goals_and_rewards_are_paid_once_per_program() -> None:
    goal = rule("goal", "goal_bonus", metric="sales_count", threshold=2, amount="50")
    prize = rule("prize", "reward", metric="sales_amount", threshold="150", reward="мерч")
    ev = EventFactory()
    events = [ev.sale("P1", "100"), ev.sale("P1", "100"), ev.sale("P1", "100")]
    lines = evaluate_programs(
        [program("one", goal, prize), program("two", goal)], [partner("P1")], events
    )
    assert [(x["event"], x["program"], x["rule"]) for x in lines] == [
        ("s2", "one", "goal"),
        ("s2", "one", "prize"),
        ("s2", "two", "goal"),
    ]


def test_a_hold_rule_holds_only_its_own_programs_accruals() -> None:
    strict = program("strict", PERCENT, rule("big", "hold_large_sale", above="500"))
    lax = program("lax", PERCENT)
    lines = evaluate_programs([strict, lax], [partner("P1")], [EventFactory().sale("P1", "1000")])
    assert [(x["program"], x["status"], x.get("reason")) for x in lines] == [
        ("lax", "approved", None),
        ("strict", "held", "big"),
    ]


def test_campaigns_are_their_programs_own() -> None:
    bonus = rule(
        "spring",
        "campaign_bonus",
        {"valid_from": "2026-03-01", "valid_to": "2026-03-01"},
        campaign="spring",
        rate="3",
    )
    programs = [program("with-campaign", bonus), program("without", PERCENT)]
    lines = evaluate_programs(programs, [partner("P1")], [EventFactory().sale("P1", "100")])
    assert [(x["program"], x["rule"], x["kind"]) for x in lines] == [
        ("with-campaign", "spring", "bonus"),
        ("without", "pay", "commission"),
    ]


# Override receivers ---------------------------------------------------------------


def test_an_override_receiver_not_enrolled_is_skipped_and_the_next_level_is_paid() -> None:
    people = [
        partner("TOP", type="ambassador"),
        partner("MID", type="online_affiliate", parent="TOP"),
        partner("SHOP", type="offline_point", parent="MID"),
    ]
    override = rule("net", "multi_level_override", rates=["3", "1"])
    stores = program("stores", override, enrolment={"partners": ["SHOP", "TOP"]})
    everyone = program("everyone", override)
    lines = evaluate_programs([stores, everyone], people, [EventFactory().sale("SHOP", "1000")])
    assert [(x["program"], x["partner"], x["level"], x["amount"]) for x in lines] == [
        ("everyone", "MID", 1, "30.00"),
        ("everyone", "TOP", 2, "10.00"),
        ("stores", "TOP", 2, "10.00"),
    ]


def test_an_override_receiver_enrolled_but_not_active_is_still_skipped() -> None:
    people = [
        partner("TOP"),
        partner("MID", parent="TOP", status="suspended"),
        partner("S", parent="MID"),
    ]
    override = rule("net", "multi_level_override", rates=["3", "1"])
    lines = evaluate_programs(
        [program("a", override), program("b", override, enrolment={"partners": ["S"]})],
        people,
        [EventFactory().sale("S", "1000")],
    )
    assert [(x["program"], x["partner"], x["level"]) for x in lines] == [("a", "TOP", 2)]


# Customer facts are the deployment's --------------------------------------------


def split_people() -> list[dict[str, Any]]:
    return [partner("WEB", type="online_affiliate"), partner("SHOP", type="offline_point")]


WEB = {"partner_types": ["online_affiliate"]}
SHOPS = {"partner_types": ["offline_point"]}


def test_the_first_purchase_is_the_customers_first_sale_in_any_program_or_none() -> None:
    welcome = rule("welcome", "first_purchase_bonus", amount="100")
    programs = [program("web", welcome, enrolment=WEB), program("stores", welcome, enrolment=SHOPS)]
    people = [*split_people(), partner("LONE", type="cofactor")]
    ev = EventFactory()
    events = [
        ev.sale("SHOP", customer="c1"),  # c1's first sale: stores pays
        ev.sale("WEB", customer="c1"),  # not c1's first
        ev.sale("LONE", customer="c2"),  # no program evaluates it, yet it is c2's first
        ev.sale("WEB", customer="c2"),
        ev.sale("WEB", customer="c3"),  # c3's first: web pays
    ]
    assert earners(evaluate_programs(programs, people, events)) == [
        ("s1", "stores", "SHOP"),
        ("s5", "web", "WEB"),
    ]


def test_new_customers_count_only_customers_whose_first_sale_ever_was_this_partners() -> None:
    goal = rule(
        "newbies", "goal_bonus", metric="new_customers", threshold=2, amount="500", period="month"
    )
    programs = [program("web", goal, enrolment=WEB), program("stores", PERCENT, enrolment=SHOPS)]
    ev = EventFactory()
    events = [
        ev.sale("SHOP", customer="c1"),
        ev.sale("WEB", customer="c1"),  # c1 came through the stores: not a new customer
        ev.sale("WEB", customer="c2"),  # 1 new customer
        ev.sale("WEB", customer="c3"),  # 2: the goal is reached here
    ]
    lines = evaluate_programs(programs, split_people(), events)
    assert [(x["event"], x["program"], x["rule"]) for x in lines] == [
        ("s1", "stores", "pay"),
        ("s4", "web", "newbies"),
    ]


def test_velocity_counts_the_customers_sales_in_every_program_and_in_none() -> None:
    velocity = rule("fast", "hold_velocity", max_sales=2, within_hours=24)
    programs = [
        program("web", PERCENT, velocity, enrolment=WEB),
        program("stores", PERCENT, enrolment=SHOPS),
    ]
    people = [*split_people(), partner("LONE", region="Z", type="cofactor")]
    ev = EventFactory()
    events = [
        ev.sale("SHOP", customer="c1"),
        ev.sale("LONE", customer="c1"),  # evaluated by no program, still a sale of c1
        ev.sale("WEB", customer="c1"),  # c1's third sale within 24 hours: held
        ev.sale("WEB", customer="c2"),
    ]
    lines = evaluate_programs(programs, people, events)
    assert [(x["event"], x["program"], x["status"]) for x in lines] == [
        ("s1", "stores", "approved"),
        ("s3", "web", "held"),
        ("s4", "web", "approved"),
    ]


# Refunds --------------------------------------------------------------------------


def test_a_refund_reverses_the_sales_accruals_in_every_program_that_produced_them() -> None:
    people = [partner("TOP"), partner("S", parent="TOP")]
    programs = [
        program(
            "b-points",
            rule("pts", "points_per_amount", per="10", points=1),
            rule("net", "multi_level_override", rates=["2"]),
        ),
        program("a-money", PERCENT, rule("big", "hold_large_sale", above="500")),
    ]
    ev = EventFactory()
    events = [ev.sale("S", "1000", id="sale"), ev.refund("sale", "250", id="back")]
    lines = [x for x in evaluate_programs(programs, people, events) if x["event"] == "back"]
    assert [
        (x["program"], x["partner"], x["rule"], x["amount"], x["points"], x["status"])
        for x in lines
    ] == [
        ("a-money", "S", "pay", "-25.00", 0, "held"),
        ("b-points", "S", "pts", "0.00", -25, "approved"),
        ("b-points", "TOP", "net", "-5.00", 0, "approved"),
    ]
    assert all(x["reverses"] == "sale" for x in lines)


def test_a_refund_reverses_only_in_the_program_that_produced_reversible_accruals() -> None:
    programs = [
        program("money", PERCENT),
        program("welcome", rule("hello", "first_purchase_bonus", amount="100")),
    ]
    ev = EventFactory()
    events = [
        ev.sale("P1", "1000", id="sale", customer="c1"),
        ev.refund("sale", "1000", id="all-back"),
        ev.refund("sale", "1", id="too-much"),
    ]
    lines = evaluate_programs(programs, [partner("P1")], events)
    assert [(x["event"], x.get("program"), x.get("amount", x.get("rejected"))) for x in lines] == [
        ("sale", "money", "100.00"),
        ("sale", "welcome", "100.00"),
        ("all-back", "money", "-100.00"),
        ("too-much", None, "refund exceeds sale"),
    ]


def test_several_programs_give_the_same_lines_with_sqlite_state() -> None:
    people = [partner("TOP"), partner("S", parent="TOP", tags=["t"])]
    programs = [
        program(
            "a",
            rule(
                "t",
                "tiered_percent",
                tiers=[{"from": "0", "rate": "1"}, {"from": "1", "rate": "2"}],
            ),
            rule("net", "multi_level_override", rates=["2"]),
            enrolment={"tags": ["t"], "partners": ["TOP"]},
        ),
        program("b", rule("t", "points_per_amount", per="10", points=1)),
    ]
    ev = EventFactory()
    events = [ev.sale("S", "100", id="x"), ev.sale("S", "100"), ev.refund("x", "50")]
    memory = evaluate_programs(programs, people, events)
    with SqliteState() as state:
        assert evaluate_programs(programs, people, events, state=state) == memory
    assert [x["program"] for x in memory if x.get("reverses")] == ["a", "a", "b"]


def test_figures_can_be_kept_by_program_for_one_program_too() -> None:
    spec = parse_program(
        {"program": "p", "rules": [rule("t", "tiered_percent", tiers=[{"from": "0", "rate": "1"}])]}
    )
    directory = parse_partners({"partners": [partner("P1")]})
    sale = EventFactory().sale("P1", "100")
    lines = {}
    for by_program in (None, True):
        state = MemoryState()
        evaluator = Evaluator(
            spec, directory, state=state, backend=PythonBackend(), figures_by_program=by_program
        )
        lines[by_program] = evaluator.process(dict(sale))
        month = "2026-03"
        assert state.period_figures(PeriodKey("t", "P1", month)).sales_count == (
            0 if by_program else 1
        )
        assert state.period_figures(PeriodKey("p/t", "P1", month)).sales_count == (
            1 if by_program else 0
        )
    assert lines[None] == lines[True]
