"""Plain-words differences between program versions (no app)."""

from __future__ import annotations

from typing import Any

from server.programs.diff import ChangeKind, diff_programs
from server.rules.program import parse_program


def _program(*rules: dict[str, Any], title: str = "T") -> Any:
    return parse_program({"program": "p", "title": title, "rules": list(rules)})


BASE = {"id": "online", "template": "percent_of_sale", "params": {"rate": "5"}}


def test_rate_change_in_plain_words() -> None:
    old = _program(BASE)
    new = _program({**BASE, "params": {"rate": "7"}})
    diff = diff_programs(old, new, "en")
    (change,) = diff.rules
    assert change.kind is ChangeKind.changed
    assert change.details == ('"online": rate: 5 → 7',)
    assert change.old_sentence == "5 % of every sale"
    assert change.new_sentence == "7 % of every sale"
    # a Russian diff names the parameter in Russian (the backtest and version pages)
    assert diff_programs(old, new, "ru").rules[0].details == ("«online»: ставка, %: 5 → 7",)


def test_added_removed_scope_and_moves() -> None:
    cpm = {"id": "display", "template": "cpm", "params": {"rate": "80"}}
    old = _program(BASE, cpm, title="Old")
    scoped = {**BASE, "scope": {"regions": ["A"], "channels": ["online"]}}
    lead = {
        "id": "lead",
        "template": "fixed_per_action",
        "params": {"event_type": "lead", "amount": "100"},
    }
    new = _program(lead, scoped, title="New")
    diff = diff_programs(old, new, "en")
    kinds = {c.rule: c.kind for c in diff.rules}
    assert kinds == {
        "lead": ChangeKind.added,
        "online": ChangeKind.changed,
        "display": ChangeKind.removed,
    }
    online = next(c for c in diff.rules if c.rule == "online")
    assert online.details == (
        '"online": scope: every event → online in region A',
        '"online": position 1 → 2',
    )
    assert diff.program == ('title "Old" → "New"',)
    summary = diff.summary()
    assert summary[0] == 'title "Old" → "New"'
    assert any(line.startswith('Rule "lead" added: ') for line in summary)
    assert 'Rule "display" removed' in summary


def test_same_program_has_no_changes() -> None:
    diff = diff_programs(_program(BASE), _program(BASE), "ru")
    assert not diff.changed and diff.summary() == []
