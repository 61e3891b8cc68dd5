"""Backtest: a draft version over stored events of a period, next to the versions in force.

Nothing is written to the ledger. Both sides start from a fresh
:class:`~server.rules.state.MemoryState`, so month-to-date tiers, goals and first
purchases count only the period's events: the comparison is like for like. The
baseline side evaluates each event under the published version in force on its local
date (as the workers do); the draft side evaluates every event under the draft.
Events stored as duplicates (merged into another) are left out.

The result is a JSON-ready dict (money as decimal text), kept as the rq job's result
and rendered as a table or CSV by the workspace.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from server.extensions import db
from server.ledger.models import SalesEvent
from server.partners.queries import partner_directory
from server.programs.models import ProgramVersion, VersionStatus
from server.programs.queries import version_spec
from server.rules.evaluator import Accrual, AccrualStatus, Evaluator, Rejection
from server.rules.events import parse_instant
from server.rules.partners import PartnerDirectory
from server.rules.program import ProgramSpec
from server.rules.state import MemoryState
from server.spreadsheet import cell

#: events read from the database per query
FETCH_SIZE = 5_000
#: how often (in events) progress is reported
PROGRESS_EVERY = 2_000
ZERO = Decimal("0.00")

Progress = Callable[[int, int], None]


@dataclass
class Totals:
    """Money, points and held accruals of one side for one partner or region."""

    amount: Decimal = ZERO
    points: int = 0
    held: int = 0

    def add(self, accrual: Accrual) -> None:
        self.amount += accrual.amount
        self.points += accrual.points
        self.held += accrual.status is AccrualStatus.HELD


@dataclass
class Side:
    """One side of the comparison (draft or baseline)."""

    by_partner: dict[str, Totals] = field(default_factory=lambda: defaultdict(Totals))
    by_region: dict[str, Totals] = field(default_factory=lambda: defaultdict(Totals))
    held_events: int = 0
    rejected: int = 0
    total: Totals = field(default_factory=Totals)

    def add(self, outcomes: list[Any], regions: dict[str, str]) -> None:
        held = False
        for outcome in outcomes:
            if isinstance(outcome, Rejection):
                self.rejected += 1
                continue
            region = regions.get(outcome.partner, "—")
            self.by_partner[outcome.partner].add(outcome)
            self.by_region[region].add(outcome)
            self.total.add(outcome)
            held = held or outcome.status is AccrualStatus.HELD
        self.held_events += held


def _range(start: date, end: date) -> tuple[datetime, datetime]:
    """A generous UTC window: local dates may be a day off the UTC instant."""
    low = datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC)
    high = datetime.combine(end + timedelta(days=2), time.min, tzinfo=UTC)
    return low, high


def stored_events(start: date, end: date) -> Iterator[dict[str, Any]]:
    """Payloads of the events whose local date is in [start, end], in processing order."""
    low, high = _range(start, end)
    query = (
        sa.select(SalesEvent.payload)
        .where(
            SalesEvent.occurred_at >= low,
            SalesEvent.occurred_at < high,
            SalesEvent.merged_into_id.is_(None),
        )
        .order_by(SalesEvent.occurred_at, SalesEvent.external_id, SalesEvent.id)
        .execution_options(yield_per=FETCH_SIZE)
    )
    for (payload,) in db.session.execute(query):
        moment = parse_instant(payload.get("occurred_at"))
        if moment is not None and start <= moment.date() <= end:
            yield payload


def count_events(start: date, end: date) -> int:
    """An upper bound of the events :func:`stored_events` yields (for progress)."""
    low, high = _range(start, end)
    return int(
        db.session.scalar(
            sa.select(sa.func.count(SalesEvent.id)).where(
                SalesEvent.occurred_at >= low,
                SalesEvent.occurred_at < high,
                SalesEvent.merged_into_id.is_(None),
            )
        )
        or 0
    )


class Baseline:
    """The published versions in force, one evaluator each, sharing one state."""

    def __init__(self, program_id: int, partners: PartnerDirectory) -> None:
        self.state = MemoryState()
        self.partners = partners
        rows = db.session.scalars(
            sa.select(ProgramVersion)
            .where(
                ProgramVersion.program_id == program_id,
                ProgramVersion.status == VersionStatus.published,
                ProgramVersion.effective_from.is_not(None),
            )
            .order_by(ProgramVersion.effective_from, ProgramVersion.number)
        ).all()
        self.versions = [(v.effective_from, v.number, version_spec(v)) for v in rows]
        self._evaluators: dict[int, Evaluator] = {}

    def process(self, payload: dict[str, Any]) -> list[Any]:
        moment = parse_instant(payload.get("occurred_at"))
        found: tuple[int, ProgramSpec] | None = None
        for effective_from, number, spec in self.versions:
            if (
                moment is not None
                and effective_from is not None
                and effective_from <= moment.date()
            ):
                found = (number, spec)
        if found is None:
            return [Rejection(str(payload.get("id")), "no program in force")]
        number, spec = found
        evaluator = self._evaluators.get(number)
        if evaluator is None:
            evaluator = self._evaluators[number] = Evaluator(spec, self.partners, self.state)
        return evaluator.process(payload)


def run_backtest(
    version_id: int, start: date, end: date, progress: Progress | None = None
) -> dict[str, Any]:
    """Evaluate the version over the period's stored events next to the baseline.

    Raises:
        ValueError: unknown version, or ``start`` after ``end``.
        server.rules.program.ProgramError: the version's rules do not validate.
    """
    if start > end:
        raise ValueError("the period starts after it ends")
    version = db.session.get(ProgramVersion, version_id)
    if version is None:
        raise ValueError(f"unknown program version {version_id}")
    partners = partner_directory()
    regions = {p.id: p.region or "—" for p in partners}
    draft = Evaluator(version_spec(version), partners, MemoryState())
    baseline = Baseline(version.program_id, partners)
    total = count_events(start, end)
    draft_side, base_side = Side(), Side()
    done = 0
    for payload in stored_events(start, end):
        draft_side.add(draft.process(payload), regions)
        base_side.add(baseline.process(payload), regions)
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
    if progress is not None:
        progress(done, done)
    db.session.rollback()  # read-only: release the snapshot
    return {
        "version_id": version.id,
        "version": version.number,
        "program": version.program.slug,
        "currency": version.program.currency,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "events": done,
        "draft": _side_summary(draft_side),
        "baseline": _side_summary(base_side),
        "partners": _rows(draft_side.by_partner, base_side.by_partner, regions),
        "regions": _rows(draft_side.by_region, base_side.by_region, None),
    }


def _side_summary(side: Side) -> dict[str, Any]:
    return {
        "amount": str(side.total.amount),
        "points": side.total.points,
        "held_events": side.held_events,
        "held_accruals": side.total.held,
        "rejected": side.rejected,
    }


def _rows(
    draft: dict[str, Totals], base: dict[str, Totals], regions: dict[str, str] | None
) -> list[dict[str, Any]]:
    """One row per key, the largest absolute change first (then by key)."""
    rows = []
    for key in set(draft) | set(base):
        new, old = draft.get(key, Totals()), base.get(key, Totals())
        delta = new.amount - old.amount
        row: dict[str, Any] = {
            "key": key,
            "draft": str(new.amount),
            "baseline": str(old.amount),
            "delta": str(delta),
            "draft_points": new.points,
            "baseline_points": old.points,
            "draft_held": new.held,
            "baseline_held": old.held,
        }
        if regions is not None:
            row["region"] = regions.get(key, "—")
        rows.append(row)
    rows.sort(key=lambda r: (-abs(Decimal(r["delta"])), r["key"]))
    return rows


CSV_COLUMNS = (
    "level",
    "key",
    "region",
    "draft",
    "baseline",
    "delta",
    "draft_points",
    "baseline_points",
    "draft_held",
    "baseline_held",
)


def result_csv(result: dict[str, Any]) -> str:
    """The per-partner and per-region rows as CSV (``level`` is ``partner`` or ``region``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for level, rows in (("partner", result["partners"]), ("region", result["regions"])):
        for row in rows:
            # partner and region codes are outside text (partners' files): never formulas
            key, region = row["key"], row.get("region", row["key"])
            writer.writerow({"level": level, **row, "key": cell(key), "region": cell(region)})
    return out.getvalue()
