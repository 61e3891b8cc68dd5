"""How many generated inputs the fuzz tests execute, counted for real.

The hardening promise: every ``make test`` run executes at least :data:`PROMISED_INPUTS`
generated inputs against the events API (hypothesis and schemathesis) and the CSV import.
Each fuzz test counts the distinct inputs the code under test actually judged and fails
when fewer than its budget ran, so an early stop (hypothesis exhausting a small search
space, a filter rejecting most draws) cannot pass quietly. The session summary prints the
totals and fails a full run that falls short of the promise.

Counting rule (also in docs/ingestion.md, "Fuzzing"):

- an answered request counts as the distinct events the server judged one by one (each
  drawn independently by the strategy), or as one input when it was refused as a whole
  (4xx) or carried no event;
- an imported CSV file counts as its distinct data rows (each drawn independently), or as
  one input when the file was refused as a whole;
- "distinct" is per surface (events API, CSV import) and database for the whole session,
  by the SHA-256 of the input's canonical text: a repeat, in a batch or in a later
  example, is not counted again.

``PARTNERFLOW_FUZZ_SCALE`` (a number ≥ 1, default 1) multiplies every example count and
budget for a bigger campaign. Runs are reproducible: hypothesis derandomizes (the same
inputs every run, no example database) unless ``PARTNERFLOW_FUZZ_SEED`` names a seed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hypothesis import HealthCheck, seed, settings

#: generated inputs per run, across the events API and CSV import fuzzers
PROMISED_INPUTS = 10_000


def _read_scale() -> float:
    raw = os.environ.get("PARTNERFLOW_FUZZ_SCALE", "1")
    try:
        scale = float(raw)
    except ValueError:
        raise ValueError(f"PARTNERFLOW_FUZZ_SCALE must be a number >= 1, not {raw!r}") from None
    if not scale >= 1:
        raise ValueError(f"PARTNERFLOW_FUZZ_SCALE must be a number >= 1, not {raw!r}")
    return scale


FUZZ_SCALE = _read_scale()
_SEED = os.environ.get("PARTNERFLOW_FUZZ_SEED")
FUZZ_SEED = int(_SEED) if _SEED else None


@dataclass(frozen=True)
class Budget:
    """At scale 1: hypothesis examples to run, and distinct inputs they must yield."""

    examples: int
    inputs: int

    @property
    def scaled_examples(self) -> int:
        return round(self.examples * FUZZ_SCALE)

    @property
    def scaled_inputs(self) -> int:
        return round(self.inputs * FUZZ_SCALE)


EVENTS_API = "events API"
CSV_IMPORT = "CSV import"

#: (fuzz test, database) → budget. SQLite carries the count (the test client and SQLite
#: are cheap); PostgreSQL runs the same fuzzers smaller, for what only it refuses.
BUDGETS: dict[tuple[str, str], Budget] = {
    ("events.structured_batches", "sqlite"): Budget(examples=900, inputs=3_400),
    ("events.structured_batches", "postgresql"): Budget(examples=120, inputs=450),
    # 600 examples gave 2,095 distinct inputs once the enrolment modules were imported
    ("events.wrapped_batches", "sqlite"): Budget(examples=660, inputs=2_100),
    ("events.wrapped_batches", "postgresql"): Budget(examples=80, inputs=280),
    ("events.arbitrary_bodies", "sqlite"): Budget(examples=1_300, inputs=1_100),
    ("events.arbitrary_bodies", "postgresql"): Budget(examples=200, inputs=160),
    # 250 examples gave 311 distinct inputs when only some test folders were collected
    ("schemathesis.valid_key", "sqlite"): Budget(examples=300, inputs=320),
    ("schemathesis.valid_key", "postgresql"): Budget(examples=60, inputs=75),
    ("schemathesis.negative", "sqlite"): Budget(examples=250, inputs=200),
    # the tighter schema (bounded amounts, ids) makes more of 60 negative examples alike:
    # 36 distinct inputs in one run; the budget counts distinct ones
    ("schemathesis.negative", "postgresql"): Budget(examples=60, inputs=30),
    ("schemathesis.bad_keys", "sqlite"): Budget(examples=200, inputs=150),
    ("schemathesis.bad_keys", "postgresql"): Budget(examples=40, inputs=30),
    ("schemathesis.rate_limited", "sqlite"): Budget(examples=30, inputs=25),
    ("schemathesis.rate_limited", "postgresql"): Budget(examples=15, inputs=12),
    # 1,500 examples gave 2,750-2,860 distinct rows as the modules imported changed
    ("csv.files", "sqlite"): Budget(examples=1_800, inputs=2_800),
    ("csv.files", "postgresql"): Budget(examples=200, inputs=320),
}

F = TypeVar("F", bound=Callable[..., Any])


def fuzz_settings(name: str, backend: str) -> Callable[[F], F]:
    """Hypothesis settings for a fuzz test: its budget's examples, reproducible runs.

    Apply above ``@given``. No deadline (the databases' speed varies on a shared machine)
    and no example database, so a run depends only on the code and the seed.
    """
    budget = BUDGETS[(name, backend)]

    def apply(test: F) -> F:
        configured = settings(
            max_examples=budget.scaled_examples,
            deadline=None,
            database=None,
            derandomize=FUZZ_SEED is None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.filter_too_much,
            ],
        )(test)
        return configured if FUZZ_SEED is None else seed(FUZZ_SEED)(configured)

    return apply


def canonical_text(value: Any) -> str:
    """The text a generated value is told apart by: JSON with sorted keys."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, default=repr)


def canonical(value: Any) -> bytes:
    """The bytes an input is told apart by (bytes as they are, else canonical text)."""
    if isinstance(value, bytes):
        return value
    return canonical_text(value).encode()


#: (surface, database) → digests of the inputs counted so far this session
_SEEN: dict[tuple[str, str], set[bytes]] = {}


@dataclass
class FuzzRun:
    """One fuzz test's count of distinct judged inputs, against its budget."""

    name: str
    surface: str
    backend: str
    budget: int
    counted: int = 0
    finished: bool = False
    _seen: set[bytes] = field(default_factory=set, repr=False)

    def count(self, inputs: Iterable[Any]) -> int:
        """Count these inputs (those not seen before this session); return how many."""
        added = 0
        for value in inputs:
            digest = hashlib.sha256(canonical(value)).digest()
            if digest not in self._seen:
                self._seen.add(digest)
                added += 1
        self.counted += added
        return added

    def count_answer(self, status: int, body: bytes, events: list[Any] | None) -> int:
        """Count a request by the counting rule: its events if judged one by one, else it."""
        if status == 200 and events:
            return self.count(events)
        return self.count([b"request:" + body])

    def require_budget(self) -> None:
        """Fail unless the budget ran (call once, after the generated examples)."""
        self.finished = True
        assert self.counted >= self.budget, (
            f"{self.name} on {self.backend}: {self.counted} distinct generated inputs "
            f"judged, fewer than its budget of {self.budget} (search space exhausted, "
            "or inputs filtered out?)"
        )


RUNS: list[FuzzRun] = []


def start_run(name: str, surface: str, backend: str) -> FuzzRun:
    run = FuzzRun(
        name=name,
        surface=surface,
        backend=backend,
        budget=BUDGETS[(name, backend)].scaled_inputs,
        _seen=_SEEN.setdefault((surface, backend), set()),
    )
    RUNS.append(run)
    return run


def export_runs() -> list[dict[str, Any]]:
    """This process's runs as plain data (an xdist worker sends them to the controller)."""
    return [
        {
            "name": run.name,
            "surface": run.surface,
            "backend": run.backend,
            "budget": run.budget,
            "counted": run.counted,
            "finished": run.finished,
        }
        for run in RUNS
    ]


def import_runs(runs: Iterable[dict[str, Any]]) -> None:
    """Add a worker's runs (:func:`export_runs`) to this process's report."""
    RUNS.extend(FuzzRun(**run) for run in runs)


def promised_per_run() -> int:
    """What the budgets add up to on SQLite alone (the promise must hold without PG)."""
    return sum(b.scaled_inputs for (_, backend), b in BUDGETS.items() if backend == "sqlite")


def session_report() -> tuple[list[str], bool]:
    """Summary lines, and whether a complete run fell short of the promise."""
    if not RUNS:
        return [], False
    total = sum(run.counted for run in RUNS)
    by_backend: dict[str, int] = {}
    for run in RUNS:
        by_backend[run.backend] = by_backend.get(run.backend, 0) + run.counted
    parts = ", ".join(f"{backend} {count:,}" for backend, count in sorted(by_backend.items()))
    lines = [
        f"fuzzing: {total:,} distinct generated inputs judged ({parts}); "
        f"promised per full run: {PROMISED_INPUTS * FUZZ_SCALE:,.0f}"
    ]
    lines += [
        f"  {run.name} [{run.backend}]: {run.counted:,} (budget {run.budget:,})" for run in RUNS
    ]
    complete = {(run.name, run.backend) for run in RUNS if run.finished} >= set(BUDGETS)
    return lines, complete and total < PROMISED_INPUTS * FUZZ_SCALE
