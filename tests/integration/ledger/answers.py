"""What every answer of ``POST /api/v1/events`` promises, checked the same way by all fuzzers."""

from __future__ import annotations

from typing import Any

STATUSES = ("accepted", "duplicate", "conflict", "merged", "rejected")
#: per-event outcomes that must carry a reason (merged names the first report)
MUST_SAY_WHY = {"rejected", "conflict", "merged"}


def check_answer(status: int, body: Any, sent: list[Any] | None) -> set[str]:
    """Assert the answer keeps the API's promises; return what it showed.

    Never a 5xx; a refused request is a JSON object whose ``error`` says why; a 200 has
    one result per event sent, in order, with consistent counts, and every rejected,
    conflicting or merged event has a reason. The returned labels ("400", "accepted", …)
    let a fuzzer check that its inputs reached the outcomes it means to exercise.
    """
    assert status < 500, f"{status}: {body!r:.500}"
    assert isinstance(body, dict), f"{status} without a JSON object: {body!r:.200}"
    if status != 200:
        assert 400 <= status < 500, status
        error = body.get("error")
        assert isinstance(error, str) and error.strip(), f"{status} without a reason: {body}"
        return {str(status)}
    results = body["results"]
    if sent is not None:
        assert len(results) == len(sent), (len(results), len(sent))
    shown = {"200"}
    for position, result in enumerate(results):
        assert result["index"] == position, result
        assert result["status"] in STATUSES, result
        if result["status"] in MUST_SAY_WHY:
            reason = result.get("reason")
            assert isinstance(reason, str) and reason.strip(), f"no reason: {result}"
        shown.add(result["status"])
    for name in STATUSES:
        assert body[name] == sum(r["status"] == name for r in results), (name, body[name])
    return shown
