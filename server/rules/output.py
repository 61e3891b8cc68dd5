"""Outcomes → the spec's JSON lines, and a plain-text table for people."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from server.rules.evaluator import Accrual, Outcome
from server.rules.money import format_amount


def outcome_to_json(outcome: Outcome, *, with_program: bool = False) -> dict[str, Any]:
    """The output object of ``spec/rules.md`` section 5 (optional keys only when set).

    ``with_program`` adds ``program`` (the slug) to accruals: section 6 requires it when
    several programs run, and one program's output leaves it out, like the spec's
    worked examples. Rejections belong to no program and never carry it.
    """
    if not isinstance(outcome, Accrual):
        return {"event": outcome.event, "rejected": outcome.reason}
    out: dict[str, Any] = {"event": outcome.event}
    if with_program:
        out["program"] = outcome.program
    out |= {
        "partner": outcome.partner,
        "rule": outcome.rule,
        "kind": outcome.kind.value,
        "amount": format_amount(outcome.amount),
        "points": outcome.points,
    }
    if outcome.level is not None:
        out["level"] = outcome.level
    if outcome.reward is not None:
        out["reward"] = outcome.reward
    out["status"] = outcome.status.value
    if outcome.reason is not None:
        out["reason"] = outcome.reason
    if outcome.reverses is not None:
        out["reverses"] = outcome.reverses
    return out


def outcome_to_line(outcome: Outcome, *, with_program: bool = False) -> str:
    """One compact JSON line (UTF-8 text kept as is), without the newline."""
    return json.dumps(
        outcome_to_json(outcome, with_program=with_program),
        ensure_ascii=False,
        separators=(",", ":"),
    )


_COLUMNS = (
    ("event", 12),
    ("program", 14),
    ("partner", 12),
    ("rule", 16),
    ("kind", 10),
    ("amount", 14),
    ("points", 7),
    ("level", 5),
    ("status", 8),
    ("note", 0),
)


def table_lines(outcomes: Iterable[Outcome], *, with_program: bool = False) -> Iterator[str]:
    """A fixed-width table, streamed: a header, then one row per outcome.

    ``note`` holds the hold reason, the reward, ``reverses <sale>`` or the rejection;
    the ``program`` column is there only ``with_program``.
    """
    columns = [(name, width) for name, width in _COLUMNS if with_program or name != "program"]
    yield " ".join(name.ljust(width) for name, width in columns).rstrip()
    for outcome in outcomes:
        row = outcome_to_json(outcome, with_program=with_program)
        notes = []
        if "rejected" in row:
            notes.append(f"rejected: {row['rejected']}")
        if row.get("reason"):
            notes.append(f"held by {row['reason']}")
        if row.get("reward"):
            notes.append(f"reward: {row['reward']}")
        if row.get("reverses"):
            notes.append(f"reverses {row['reverses']}")
        cells = {name: "" if row.get(name) is None else str(row[name]) for name, _ in columns}
        cells["event"] = cells["event"] or "-"
        cells["note"] = "; ".join(notes)
        parts = []
        for name, width in columns:
            text = cells[name]
            parts.append(
                text.rjust(width) if name in ("amount", "points", "level") else text.ljust(width)
            )
        yield " ".join(parts).rstrip()
