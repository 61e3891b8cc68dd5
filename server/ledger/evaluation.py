"""Evaluate stored events into the ledger: the workers' one path to the rules engine.

:func:`evaluate_pending` takes the oldest pending events (by ``occurred_at``, then id:
the spec's processing order), evaluates each against the program version in force on
its local date, and commits accruals, statuses and evaluation state in one transaction.
Batches are serialized by a lock row, so the ledger equals ``partnerflow simulate`` over
the same events in the same order; a crash before commit leaves the events pending for
the next run, and unique accrual keys make a re-run harmless.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from server.campaigns.budget import BudgetCaps
from server.config import DEFAULT_EVALUATION_BATCH_SIZE
from server.db.bulk import InsertStream, update_rows
from server.db.types import utcnow
from server.extensions import db
from server.ledger.db_state import DatabaseState
from server.ledger.holds import release_followups
from server.ledger.models import (
    Accrual,
    AccrualStatus,
    EvaluationLock,
    EventStatus,
    SalesEvent,
)
from server.ledger.rows import ProgramRows, StoredEvent, outcome_rows
from server.partners.models import Partner
from server.partners.queries import partner_directory
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.programs.queries import version_document, version_spec
from server.rules.evaluator import Evaluator, Rejection
from server.rules.events import ATTRIBUTION_FIELDS, parse_instant
from server.rules.partners import PartnerDirectory

log = logging.getLogger(__name__)

#: young objects allocated between two collections while batches run (CPython: 700).
#: Freezing is the gain; 50,000 was no faster beyond the noise and let a worker's RSS
#: creep by ~0.1 kB per event, 10,000 keeps it flat (docs/benchmarks.md)
BATCH_GC_THRESHOLD = 10_000
#: compiled evaluators kept per process (durable_rules rulesets cannot be freed)
EVALUATOR_CACHE_SIZE = 16
NO_PROGRAM = "no program in force"
#: the predicate of the partial index ``ix_events_pending_order``, as a literal: a bound
#: parameter would let PostgreSQL's generic plans miss the index
PENDING = sa.text("events.status = 'pending'")

#: keyed by the versions in force (ids *and* content digests): ids repeat across
#: databases (a restore, a test run) and a cached evaluator must never answer for
#: another program
_EVALUATORS: OrderedDict[tuple[tuple[int, str], ...], Evaluator] = OrderedDict()


@dataclass(frozen=True)
class BatchReport:
    events: int
    rejected: int
    accruals: int
    #: events still pending after the batch, counted up to ``batch_size``
    remaining: int


#: the published versions in force on one date, one per program, in slug order
InForce = tuple[ProgramVersion, ...]


def _evaluator(
    versions: InForce, digests: tuple[str, ...], partners: PartnerDirectory, state: DatabaseState
) -> Evaluator:
    key = tuple(zip((v.id for v in versions), digests, strict=True))
    evaluator = _EVALUATORS.get(key)
    if evaluator is None:
        # figures keyed by program always: programs come and go mid-month (docs/ledger.md)
        evaluator = Evaluator(
            [version_spec(v) for v in versions], partners, figures_by_program=True
        )
        _EVALUATORS[key] = evaluator
        while len(_EVALUATORS) > EVALUATOR_CACHE_SIZE:
            _EVALUATORS.popitem(last=False)
    _EVALUATORS.move_to_end(key)
    evaluator.partners = partners
    evaluator.state = state
    return evaluator


class VersionsInForce:
    """Published versions of every program, looked up by date (spec §6: every program
    with a version in force on an event's local date evaluates it)."""

    def __init__(self) -> None:
        rows = db.session.scalars(
            sa.select(ProgramVersion)
            .join(Program)
            .where(ProgramVersion.status == VersionStatus.published)
            .order_by(Program.slug, ProgramVersion.effective_from, ProgramVersion.number)
        ).all()
        by_program: dict[int, list[ProgramVersion]] = {}
        for version in rows:
            if version.effective_from is not None:
                by_program.setdefault(version.program_id, []).append(version)
        self._programs = list(by_program.values())  # slug order
        #: every stored program: a refund reverses accruals of programs no longer in force
        self.program_ids = {
            slug: pid for pid, slug in db.session.execute(sa.select(Program.id, Program.slug))
        }
        self.slugs = {pid: slug for slug, pid in self.program_ids.items()}
        self._rule_ids: dict[int, dict[str, int]] = {}
        self._digests: dict[int, str] = {}
        self._on: dict[date, InForce] = {}

    def rule_ids(self, version: ProgramVersion) -> dict[str, int]:
        """Rule key → rule instance id of a version (cached)."""
        cached = self._rule_ids.get(version.id)
        if cached is None:
            cached = self._rule_ids[version.id] = {r.rule_key: r.id for r in version.rules}
        return cached

    def digest(self, version: ProgramVersion) -> str:
        """SHA-256 of the version's program document (cached)."""
        cached = self._digests.get(version.id)
        if cached is None:
            document = json.dumps(version_document(version), sort_keys=True, default=str)
            cached = self._digests[version.id] = hashlib.sha256(document.encode()).hexdigest()
        return cached

    def digests(self, versions: InForce) -> tuple[str, ...]:
        return tuple(self.digest(v) for v in versions)

    def on(self, day: date) -> InForce:
        """The version in force on ``day`` of each program that has one (cached)."""
        cached = self._on.get(day)
        if cached is None:
            found = []
            for versions in self._programs:
                latest = None
                for version in versions:
                    assert version.effective_from is not None
                    if version.effective_from <= day:
                        latest = version
                if latest is not None:
                    found.append(latest)
            cached = self._on[day] = tuple(found)
        return cached


def _lock() -> None:
    """Serialize batches: the first write of the transaction takes the lock row."""
    updated = db.session.execute(
        sa.update(EvaluationLock)
        .where(EvaluationLock.id == 1)
        .values(batches=EvaluationLock.batches + 1, last_batch_at=utcnow())
    )
    if updated.rowcount == 0:
        db.session.add(EvaluationLock(id=1, batches=1, last_batch_at=utcnow()))
        db.session.flush()


def _period_labels(day: date) -> list[str]:
    return [f"{day.year:04d}-{day.month:02d}", f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"]


def _prefetch(
    state: DatabaseState, payloads: list[dict[str, Any]], partners: PartnerDirectory
) -> None:
    candidates: set[str] = set()
    periods: set[str] = set()
    customers: set[str] = set()
    sales: set[str] = set()
    for payload in payloads:
        for field, kind in ATTRIBUTION_FIELDS:
            value = payload.get(field)
            if isinstance(value, str):
                found = partners.get(value) if kind is None else partners.by_code(kind, value)
                if found is not None:
                    candidates.add(found.id)
        moment = parse_instant(payload.get("occurred_at"))
        if moment is not None:
            periods.update(_period_labels(moment.date()))
        if isinstance(payload.get("customer"), str):
            customers.add(payload["customer"])
        if isinstance(payload.get("refers_to"), str):
            sales.add(payload["refers_to"])
    state.prefetch(
        event_ids=[str(p.get("id")) for p in payloads],
        customers=customers,
        partners=candidates,
        periods=periods,
        sale_ids=sales,
    )


def evaluate_pending(batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE) -> BatchReport:
    """Evaluate one batch of pending events and commit it; returns what was done.

    The caller loops while ``remaining`` > 0. Raises whatever the database or the
    engine raises; nothing is committed then, and the events stay pending.
    """
    session = db.session
    try:
        _lock()
        events = session.execute(
            sa.select(
                SalesEvent.id,
                SalesEvent.source,
                SalesEvent.external_id,
                SalesEvent.occurred_at,
                SalesEvent.payload,
            )
            .where(PENDING)
            .order_by(SalesEvent.occurred_at, SalesEvent.external_id, SalesEvent.id)
            .limit(batch_size)
        ).all()
        if not events:
            session.commit()
            return BatchReport(0, 0, 0, 0)
        partners = partner_directory()
        partner_ids = {
            code: pid for code, pid in session.execute(sa.select(Partner.code, Partner.id))
        }
        state = DatabaseState(session)
        _prefetch(state, [payload for *_, payload in events], partners)
        versions = VersionsInForce()
        in_force = [_versions_of(payload, versions) for *_, payload in events]
        # read before the accruals stream: a query in the loop would end the COPY
        evaluators = {
            used: _evaluator(used, versions.digests(used), partners, state)
            for used in set(in_force)
            if used
        }
        programs_of = {used: _program_rows(used, versions) for used in set(in_force)}
        # Campaigns: rows of a campaign's rules for events that did not occur while it
        # was running are dropped; the accrual that crosses a budget cap is cut to what
        # is left, later ones are dropped (server/campaigns/budget.py, docs/workspace.md).
        caps = BudgetCaps.load(session)
        now = utcnow()
        updates: list[dict[str, Any]] = []
        reversals: list[dict[str, Any]] = []
        rejected = 0
        with session.no_autoflush, InsertStream(session, Accrual.__table__) as accruals:
            for (row_id, source, external_id, occurred_at, payload), used in zip(
                events, in_force, strict=True
            ):
                if not used:
                    outcomes: list[Any] = [Rejection(external_id, NO_PROGRAM)]
                else:
                    outcomes = evaluators[used].process(payload)
                result = outcome_rows(
                    StoredEvent(row_id, source, external_id, occurred_at),
                    outcomes,
                    partner_ids=partner_ids,
                    programs=programs_of[used],
                    program_ids=versions.program_ids,
                    created_at=now,
                )
                updates.append(
                    {
                        "id": row_id,
                        "status": result.status,
                        "rejection_reason": result.reason,
                        "processed_at": now,
                        **({"partner_id": result.partner_id} if result.partner_id else {}),
                    }
                )
                rejected += result.status is EventStatus.rejected
                rows = caps.apply(result.rows)
                accruals.write(rows)
                reversals.extend(r for r in rows if r["reverses"])
        with session.no_autoflush:
            state.write()
            update_rows(session, SalesEvent.__table__, updates)
            _release_reversals_of_released_holds(reversals)
        # Counted up to one more batch: a full count costs a scan of every pending row,
        # per batch, which a backlog of a million events cannot afford.
        remaining = (
            session.scalar(
                sa.select(sa.func.count()).select_from(
                    sa.select(SalesEvent.id).where(PENDING).limit(batch_size).subquery()
                )
            )
            or 0
        )
        session.commit()
        return BatchReport(len(events), rejected, accruals.written, remaining)
    except BaseException:
        session.rollback()
        raise


def evaluation_batches(
    batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE,
) -> Generator[BatchReport, None, None]:
    """Batch after batch until none is pending, each committed before its report is
    yielded, with the garbage collector set for the run (:func:`batch_garbage_collection`).

    A caller that stops iterating starts no further batch (the workers' job does, when
    its time is up); the collector's settings come back when the generator is closed,
    which CPython does as soon as the loop over it is left.
    """
    with batch_garbage_collection():
        while True:
            report = evaluate_pending(batch_size)
            yield report
            if report.remaining == 0 or report.events == 0:
                return


@contextmanager
def batch_garbage_collection() -> Iterator[None]:
    """The garbage collector set for a run of batches; previous settings come back after.

    A batch allocates some 10^5 short-lived objects (rows, outcomes, state records). With
    CPython's defaults the collector runs every 700 allocations, and its older passes
    walk every long-lived object of the process (the app, SQLAlchemy's registry, the
    compiled rulesets): 10-20 % of evaluation time, measured (docs/benchmarks.md).
    Objects alive when the run starts are moved out of its reach (``gc.freeze``) and
    young ones are collected every ``BATCH_GC_THRESHOLD`` allocations. Reference cycles
    are still collected, only less often. If the process had frozen objects itself
    (a pre-fork server does), they stay frozen, with the run's, after it.
    """
    previous = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(BATCH_GC_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        if not frozen_before:
            gc.unfreeze()


def _versions_of(payload: dict[str, Any], versions: VersionsInForce) -> InForce:
    """The program versions in force on the event's local date (none without a date)."""
    moment = parse_instant(payload.get("occurred_at"))
    return versions.on(moment.date()) if moment else ()


def _program_rows(used: InForce, versions: VersionsInForce) -> dict[str, ProgramRows]:
    """Program slug → the ids its accruals carry, for the versions in force."""
    return {
        versions.slugs[v.program_id]: ProgramRows(v.program_id, v.id, versions.rule_ids(v))
        for v in used
    }


def _release_reversals_of_released_holds(rows: list[dict[str, Any]]) -> None:
    """A refund of a sale whose held accruals a manager already released must reduce
    the payable balance too: add the release rows for those reversals (rare)."""
    keys = [r["dedupe_key"] for r in rows if r["reverses"] and r["status"] is AccrualStatus.held]
    if not keys:
        return
    reversals = db.session.scalars(sa.select(Accrual).where(Accrual.dedupe_key.in_(keys))).all()
    db.session.add_all(release_followups(db.session, reversals))
    db.session.flush()
