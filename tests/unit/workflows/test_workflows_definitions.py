"""Every definition file loads; broken definitions give errors naming file, state, line."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.workflows.diagram import render_svg
from server.workflows.editor import (
    compact_guards,
    parse_compact_guards,
    rows_from_yaml,
    yaml_from_rows,
)
from server.workflows.spec import WorkflowSpec
from server.workflows.validation import DefinitionInvalid, check_definition, parse_definition

WORKFLOWS = Path(__file__).parents[3] / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yaml"))

GOOD = """\
schema_version: 2
key: tiny
subject_type: partner
title: {ru: Мини, en: Tiny}
initial: start
states:
  start:
    title: {ru: Начало, en: Start}
    sla_days: 2
  done:
    title: {ru: Готово, en: Done}
    final: true
    actions:
      - activate_partner
transitions:
  - trigger: finish
    from: start
    to: done
    roles: [Manager]
    guards:
      - guard: field_filled
        fields: [inn]
"""


def _issues(text: str) -> list[tuple[int, str | None, str]]:
    spec, issues = check_definition(text, "broken.yaml")
    assert spec is None
    assert all(issue.file == "broken.yaml" for issue in issues)
    return [(issue.line, issue.state, str(issue.message)) for issue in issues]


def test_there_are_definitions_for_every_partner_kind_and_campaigns() -> None:
    specs = [parse_definition(path.read_text(encoding="utf-8"), path.name) for path in FILES]
    kinds = {kind for spec in specs for kind in spec.applies_to.partner_kinds}
    assert kinds == {"online_affiliate", "offline_point", "ambassador", "cofactor"}
    assert any(spec.subject_type == "campaign" for spec in specs)
    assert any(spec.applies_to.regions for spec in specs)
    assert len({spec.key for spec in specs}) == len(specs)


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_file_loads(path: Path) -> None:
    spec = parse_definition(path.read_text(encoding="utf-8"), path.name)
    assert spec.schema_version == 2
    assert path.stem == spec.key
    assert "<svg" in render_svg(spec, "ru")


def test_a_good_definition_parses() -> None:
    spec = parse_definition(GOOD, "tiny.yaml")
    assert spec.transition("start", "finish").dest == "done"  # type: ignore[union-attr]
    assert spec.states["done"].actions[0].kind == "activate_partner"


def test_unknown_state_names_line() -> None:
    issues = _issues(GOOD.replace("    to: done\n", "    to: dnoe\n"))
    assert (18, "start", "transition finish goes to unknown state dnoe") in issues


def test_unreachable_and_dead_end_states() -> None:
    text = GOOD.replace("transitions:", "  lost:\n    title: {ru: Потерян, en: Lost}\ntransitions:")
    issues = _issues(text)
    assert (15, "lost", "no transition leaves this state and it is not final") in issues
    assert (15, "lost", "unreachable: no path from the initial state start") in issues


def test_duplicate_trigger_and_duplicate_state() -> None:
    twice = GOOD + "  - trigger: finish\n    from: start\n    to: start\n    roles: [Manager]\n"
    issues = _issues(twice)
    assert any(line == 23 and "defined twice" in m and "line 16" in m for line, _, m in issues)
    state_twice = GOOD.replace("  done:\n", "  start:\n    title: {ru: a, en: b}\n  done:\n")
    assert any(state == "start" and "written twice" in m for _, state, m in _issues(state_twice))


def test_unknown_guard_action_role_and_field() -> None:
    text = (
        GOOD.replace("activate_partner", "launch_rocket")
        .replace("[Manager]", "[Manager, Pilot]")
        .replace("fields: [inn]", "fields: [shoe_size]")
        .replace("fields: [shoe_size]\n", "fields: [shoe_size]\n      - moon_phase\n")
    )
    issues = _issues(text)
    found = {message for _, _, message in issues}
    assert "unknown action launch_rocket" in found
    assert any(m.startswith("unknown role Pilot") for m in found)
    assert "unknown field shoe_size" in found
    assert "unknown guard moon_phase" in found
    assert (14, "done", "unknown action launch_rocket") in issues


def test_bad_parameters_and_missing_titles() -> None:
    text = GOOD.replace(
        "      - activate_partner\n",
        "      - action: issue_codes\n        kinds: [promo, coupon]\n        colour: red\n",
    ).replace("{ru: Готово, en: Done}", "{ru: Готово}")
    found = {(state, m) for _, state, m in _issues(text)}
    assert ("done", "kinds: coupon is not one of promo, qr, referral") in found
    assert ("done", "issue_codes takes no parameter colour") in found
    assert ("done", "title has no en text") in found


def test_yaml_syntax_error_names_the_line() -> None:
    issues = _issues(GOOD.replace("  done:\n", "  done:\n   - [\n"))
    assert issues[0][0] > 10 and issues[0][2].startswith("not valid YAML")


def test_final_state_with_a_way_out_is_reported() -> None:
    text = GOOD + "  - trigger: reopen\n    from: done\n    to: start\n    roles: [Manager]\n"
    assert any(state == "done" and "final state" in m for _, state, m in _issues(text))


def test_version_1_is_upgraded() -> None:
    old = (
        GOOD.replace("schema_version: 2", "schema_version: 1")
        .replace("sla_days: 2", "sla: 2")
        .replace("    actions:", "    on_enter:")
    )
    spec = parse_definition(old, "old.yaml")
    assert spec.states["start"].sla_days == 2
    assert spec.states["done"].actions[0].kind == "activate_partner"
    with pytest.raises(DefinitionInvalid, match="schema_version"):
        parse_definition(GOOD.replace("schema_version: 2", "schema_version: 9"), "x.yaml")


def test_compact_guards_round_trip() -> None:
    guards = [
        {"guard": "field_filled", "fields": ["inn", "kpp"]},
        "contract_signed",
        {"guard": "manager_approval", "step": "selection"},
    ]
    text = compact_guards(guards)
    assert text == "field_filled(inn, kpp), contract_signed, manager_approval(selection)"
    assert parse_compact_guards(text) == guards


def test_form_round_trip_keeps_actions_and_params() -> None:
    for path in FILES:
        source = path.read_text(encoding="utf-8")
        rows = rows_from_yaml(source)
        assert rows is not None
        again = parse_definition(yaml_from_rows(source, rows), "again")
        original = parse_definition(source, "original")

        def shape(spec: WorkflowSpec) -> tuple[object, ...]:
            states = [
                (
                    s.name,
                    s.title,
                    s.sla_days,
                    s.final,
                    [(a.kind, dict(a.params)) for a in s.actions],
                )
                for s in spec.states.values()
            ]
            transitions = [
                (
                    t.trigger,
                    t.sources,
                    t.dest,
                    t.roles,
                    t.title,
                    [(g.kind, dict(g.params)) for g in t.guards],
                )
                for t in spec.transitions
            ]
            return states, transitions, spec.applies_to, spec.title

        assert shape(again) == shape(original), path.name


def test_diagram_escapes_titles() -> None:
    spec = parse_definition(
        GOOD.replace("{ru: Мини, en: Tiny}", "{ru: '<script>x</script>', en: a}"), "x"
    )
    svg = render_svg(spec, "ru")
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_diagram_writes_time_limits_in_the_pages_language() -> None:
    # it said "SLA 3d" on Russian pages, where the boards say "SLA 3 дн."
    path = WORKFLOWS / "campaign-lifecycle.yaml"
    spec = parse_definition(path.read_text(encoding="utf-8"), path.stem)
    assert "SLA 14 дн." in render_svg(spec, "ru") and "SLA 14d" not in render_svg(spec, "ru")
    assert "SLA 14 d" in render_svg(spec, "en")
