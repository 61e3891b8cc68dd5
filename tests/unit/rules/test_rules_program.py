"""Programs: validation names the rule and field; YAML round trip is lossless."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from server.rules.backend import DurableRulesBackend, MatchBackend, PythonBackend
from server.rules.evaluator import Evaluator
from server.rules.output import outcome_to_json
from server.rules.partners import parse_partners
from server.rules.program import (
    ProgramError,
    dump_program_yaml,
    load_program_yaml,
    parse_program,
)

PROGRAM_YAML = """
program: regional-2026
title: "Региональная программа 2026"
currency: RUB
rules:
  - id: a-online
    template: percent_of_sale
    scope:
      regions: [A]
      channels: [online]
      partner_types: [online_affiliate, ambassador]
      partners: [P-A-001]
      categories: [premium]
      valid_from: 2026-10-01
      valid_to: 2026-12-31
    params: {rate: 7.10}
  - id: tiers
    template: tiered_percent
    params: {tiers: [{from: 10000, rate: "6"}, {from: "0", rate: 3}]}
  - id: up
    template: multi_level_override
    params: {rates: ["2", 0.5]}
  - id: velocity
    template: hold_velocity
    params: {max_sales: 3, within_hours: 1.5}
  - id: self
    template: hold_self_referral
"""


def test_yaml_numbers_are_read_as_decimal_text() -> None:
    program = load_program_yaml(PROGRAM_YAML)
    assert program.rules[0].params["rate"] == Decimal("7.10")
    assert str(program.rules[0].params["rate"]) == "7.10"
    assert program.rules[2].params["rates"] == (Decimal("2"), Decimal("0.5"))


def test_import_export_import_is_lossless() -> None:
    program = load_program_yaml(PROGRAM_YAML)
    exported = dump_program_yaml(program)
    again = load_program_yaml(exported)
    assert again == program
    assert dump_program_yaml(again) == exported


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"template": "percent"}, "rule 'x'.template"),
        ({"params": {"rate": "-1"}}, "rule 'x'.params.rate"),
        ({"params": {"rate": "abc"}}, "rule 'x'.params.rate"),
        ({"params": {}}, "rule 'x'.params.rate"),
        ({"params": {"rate": "1", "bonus": 2}}, "rule 'x'.params.bonus"),
        ({"scope": {"channels": ["tv"]}}, "rule 'x'.scope.channels"),
        ({"scope": {"region": ["A"]}}, "rule 'x'.scope.region"),
        ({"scope": {"valid_from": "2026-13-01"}}, "rule 'x'.scope.valid_from"),
        ({"scope": {"valid_from": "2026-02-01", "valid_to": "2026-01-01"}}, "rule 'x'.scope"),
    ],
)
def test_invalid_rule_names_rule_and_field(change: dict[str, Any], where: str) -> None:
    raw = {"id": "x", "template": "percent_of_sale", "params": {"rate": "1"}, **change}
    with pytest.raises(ProgramError) as error:
        parse_program({"program": "p", "currency": "RUB", "rules": [raw]})
    assert any(issue.where == where for issue in error.value.issues), error.value.issues


def test_program_level_errors_are_all_reported() -> None:
    with pytest.raises(ProgramError) as error:
        parse_program(
            {
                "program": "bad slug!",
                "currency": "rubles",
                "rules": [
                    {"id": "a", "template": "cpm", "params": {"rate": "1"}},
                    {"id": "a", "template": "cpm", "params": {"rate": "1"}},
                    {
                        "id": "t",
                        "template": "tiered_percent",
                        "params": {"tiers": [{"from": "1", "rate": "1"}, {"from": 1, "rate": "2"}]},
                    },
                ],
            }
        )
    wheres = {issue.where for issue in error.value.issues}
    assert {"program", "currency", "rule 'a'.id", "rule 't'.params.tiers"} <= wheres


def test_invalid_yaml_is_a_program_error() -> None:
    with pytest.raises(ProgramError, match="invalid YAML"):
        load_program_yaml("program: [unclosed")


def test_yaml_1_1_booleans_stay_names() -> None:
    program = load_program_yaml(
        "program: p\ncurrency: RUB\nrules:\n"
        "  - {id: r, template: cpm, scope: {regions: [NO, on]}, params: {rate: 1}}\n"
    )
    assert program.rules[0].scope.regions == ("NO", "on")


@pytest.mark.parametrize(
    "backend", [PythonBackend(), DurableRulesBackend()], ids=["python", "durable"]
)
def test_a_program_of_1000_rules_compiles_and_evaluates(backend: MatchBackend) -> None:
    rules = []
    for i in range(1000):
        scope = {"regions": [f"R{i % 7}", f"R{(i + 1) % 7}"], "channels": ["online"]}
        if i % 3 == 0:
            scope["partners"] = [f"P{i % 11}"]
        rules.append(
            {
                "id": f"r{i}",
                "template": "percent_of_sale",
                "scope": scope,
                "params": {"rate": "0.01"},
            }
        )
    program = parse_program({"program": "big", "currency": "RUB", "rules": rules})
    people = [
        {"id": f"P{i}", "type": "ambassador", "region": f"R{i % 7}", "status": "active"}
        for i in range(11)
    ]
    partners = parse_partners({"partners": people})
    evaluator = Evaluator(program, partners, backend=backend)
    events = [
        {"id": f"e{i}", "type": "sale", "occurred_at": f"2026-03-01T10:{i % 60:02d}:00+03:00",
         "partner": f"P{i % 11}", "channel": "online", "amount": "10000"}
        for i in range(50)
    ]  # fmt: skip
    out = [outcome_to_json(o) for e in events for o in evaluator.process(e)]
    expected_per_event = {
        f"P{p}": sum(
            1 for i in range(1000)
            if (p % 7) in (i % 7, (i + 1) % 7) and (i % 3 != 0 or i % 11 == p)
        )
        for p in range(11)
    }  # fmt: skip
    assert len(out) == sum(expected_per_event[f"P{i % 11}"] for i in range(50))
    assert json.dumps(out[0])  # serialisable


def test_descriptive_extra_keys_are_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    program = parse_program(
        {
            "program": "p",
            "title": "T",
            "description": "for the record",
            "rules": [
                {"id": "x", "template": "percent_of_sale", "note": "why", "params": {"rate": "1"}}
            ],
        }
    )
    assert program.currency == "RUB"  # a file without currency pays in roubles
    assert [rule.id for rule in program.rules] == ["x"]
    warned = " ".join(record.getMessage() for record in caplog.records)
    assert "description: unknown key ignored" in warned
    assert "rule 'x'.note: unknown key ignored" in warned


def test_unknown_scope_keys_are_still_refused() -> None:
    raw = {
        "id": "x",
        "template": "percent_of_sale",
        "scope": {"customers": ["k1"]},
        "params": {"rate": "1"},
    }
    with pytest.raises(ProgramError, match="customers"):
        parse_program({"program": "p", "currency": "RUB", "rules": [raw]})


def test_fixed_per_action_with_an_action_name_matches_only_that_action() -> None:
    program = parse_program(
        {
            "program": "p",
            "currency": "RUB",
            "rules": [
                {
                    "id": "signup",
                    "template": "fixed_per_action",
                    "params": {"event_type": "action", "action": "signup", "amount": "50"},
                },
                {
                    "id": "lead-named",
                    "template": "fixed_per_action",
                    "params": {"event_type": "lead", "action": "call", "amount": "10"},
                },
            ],
        }
    )
    assert [rule.id for rule in program.rules] == ["signup", "lead-named"]
