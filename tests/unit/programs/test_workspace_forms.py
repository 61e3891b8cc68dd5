"""The rule builder's form ↔ params conversion and inline validation (no app)."""

from __future__ import annotations

from server.programs.forms import (
    FieldKind,
    draft_from_form,
    form_fields,
    form_from_rule,
    parsed_rule,
    rule_issues,
)
from server.rules.plain_words import describe_rule
from server.rules.templates import default_catalogue

CATALOGUE = default_catalogue()


def test_fields_come_from_the_schema() -> None:
    tiers = form_fields(CATALOGUE["tiered_percent"])
    assert [(f.name, f.kind) for f in tiers] == [("tiers", FieldKind.rows)]
    assert [c.name for c in tiers[0].columns] == ["from", "rate"]
    goal = {f.name: f for f in form_fields(CATALOGUE["goal_bonus"], "en")}
    assert goal["metric"].kind is FieldKind.choice
    assert goal["period"].default == "month" and not goal["period"].required
    assert form_fields(CATALOGUE["multi_level_override"])[0].kind is FieldKind.decimal_list
    assert {f.name: f.kind for f in form_fields(CATALOGUE["hold_velocity"])} == {
        "max_sales": FieldKind.integer,
        "within_hours": FieldKind.decimal,
    }


def test_a_two_tier_form_becomes_params_scope_and_a_sentence() -> None:
    form = {
        "template": "tiered_percent",
        "rule_id": "tiers-a",
        "p.tiers.0.from": "0",
        "p.tiers.0.rate": "3",
        "p.tiers.1.from": "10 000",
        "p.tiers.1.rate": "6,5",
        "p.tiers.2.from": "",
        "p.tiers.2.rate": "",
        "scope.regions": ["A"],
        "scope.channels": ["offline"],
        "scope.categories": ["premium, basic"],
        "scope.valid_from": "2026-10-01",
    }
    draft = draft_from_form(form, CATALOGUE)
    assert draft.params == {"tiers": [{"from": "0", "rate": "3"}, {"from": "10000", "rate": "6.5"}]}
    assert draft.scope == {
        "regions": ["A"],
        "channels": ["offline"],
        "categories": ["premium", "basic"],
        "valid_from": "2026-10-01",
    }
    assert rule_issues(draft, CATALOGUE) == []
    rule = parsed_rule(draft, CATALOGUE)
    assert describe_rule(rule, CATALOGUE, "en") == (
        "A percentage of sales offline in region A in categories premium, basic "
        "from October 1, 2026 by the partner's month-to-date sales: 3 % from 0; 6.5 % from 10,000"
    )
    back = form_from_rule(draft.document())
    assert draft_from_form(back, CATALOGUE) == draft


def test_invalid_values_give_per_field_messages_in_both_languages() -> None:
    draft = draft_from_form(
        {"template": "percent_of_sale", "rule_id": "x", "p.rate": "seven"}, CATALOGUE
    )
    issues = rule_issues(draft, CATALOGUE)
    assert [i.field for i in issues] == ["rate"]
    assert issues[0].ru == CATALOGUE["percent_of_sale"].errors["rate"]["ru"]
    assert issues[0].en == CATALOGUE["percent_of_sale"].errors["rate"]["en"]


def test_missing_parameter_bad_id_duplicate_tiers_and_bad_scope() -> None:
    missing = draft_from_form({"template": "percent_of_sale", "rule_id": "bad id!"}, CATALOGUE)
    assert {i.field for i in rule_issues(missing, CATALOGUE)} == {"id", "rate"}
    taken = draft_from_form({"template": "cpm", "rule_id": "a", "p.rate": "1"}, CATALOGUE)
    assert [i.field for i in rule_issues(taken, CATALOGUE, other_rule_ids=["a"])] == ["id"]
    same = draft_from_form(
        {
            "template": "tiered_percent",
            "rule_id": "t",
            "p.tiers.0.from": "100",
            "p.tiers.0.rate": "1",
            "p.tiers.1.from": "100",
            "p.tiers.1.rate": "2",
        },
        CATALOGUE,
    )
    assert [i.field for i in rule_issues(same, CATALOGUE)] == ["tiers"]
    dates = draft_from_form(
        {
            "template": "cpm",
            "rule_id": "c",
            "p.rate": "1",
            "scope.valid_from": "2026-12-01",
            "scope.valid_to": "2026-01-01",
        },
        CATALOGUE,
    )
    assert [i.field for i in rule_issues(dates, CATALOGUE)] == ["scope"]


def test_integers_and_lists() -> None:
    velocity = draft_from_form(
        {"template": "hold_velocity", "rule_id": "v", "p.max_sales": "3", "p.within_hours": "24"},
        CATALOGUE,
    )
    assert velocity.params == {"max_sales": 3, "within_hours": "24"}
    override = draft_from_form(
        {"template": "multi_level_override", "rule_id": "o", "p.rates.0": "2", "p.rates.1": "0.5"},
        CATALOGUE,
    )
    assert override.params == {"rates": ["2", "0.5"]}
    assert rule_issues(override, CATALOGUE) == []
