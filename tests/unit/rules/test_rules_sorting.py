"""Processing order with bounded memory: every sorting path gives the same order."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path

from server.rules.sorting import sorted_events


def _events(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        minute = rng.randrange(0, 60 * 24)
        offset = rng.choice(["+03:00", "+00:00", "-05:00"])
        day, hour = 1 + minute // 720, minute % 720 // 60
        lines.append(json.dumps({
            "id": f"e{rng.randrange(n)}",  # duplicates on purpose
            "occurred_at": f"2026-03-0{day}T{hour:02d}:{minute % 60:02d}:00{offset}",
            "n": i,
        }))  # fmt: skip
    lines.insert(n // 2, "not json")
    lines.insert(n // 3, json.dumps({"id": "x", "occurred_at": "bad"}))
    return lines


def _order(items: Iterable[object]) -> list:
    return [item.get("n", item.get("id")) if isinstance(item, dict) else item for item in items]


def test_file_paths_agree_with_in_memory_sort(tmp_path: Path) -> None:
    lines = _events(500, 1)
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reference = _order(sorted_events(lines))
    assert reference[:2] == ["x", None]  # unorderable lines first, in file order
    assert _order(sorted_events(path)) == reference  # in memory
    assert _order(sorted_events(path, in_memory=10, chunk_lines=37)) == reference  # external
    assert _order(sorted_events(path, in_memory=10, chunk_lines=10_000)) == reference


def test_already_sorted_large_file_is_streamed(tmp_path: Path) -> None:
    ordered = [item for item in sorted_events(_events(300, 2)) if isinstance(item, dict)]
    path = tmp_path / "sorted.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in ordered), encoding="utf-8")
    assert _order(sorted_events(path, in_memory=5, chunk_lines=7)) == _order(ordered)


def test_ties_keep_file_order_and_blank_lines_and_bom_are_ignored(tmp_path: Path) -> None:
    same = {"id": "a", "occurred_at": "2026-03-01T10:00:00+03:00"}
    path = tmp_path / "e.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({**same, "n": 1}).encode() + b"\n\n  \n"
        + json.dumps({**same, "n": 2}).encode() + b"\n"
    )  # fmt: skip
    assert _order(sorted_events(path)) == [1, 2]
    assert _order(sorted_events(path, in_memory=0, chunk_lines=1)) == [1, 2]
