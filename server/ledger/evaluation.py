"""Evaluate stored events into the ledger: the workers' one path to the rules engine.

A batch takes the oldest pending events (by ``occurred_at``, then id: the spec's
processing order), evaluates each against the program version in force on its local
date (:func:`_evaluate`, reads only), then commits its accruals, statuses and evaluation
state in one transaction (:func:`_write`). Evaluation holds the evaluation lock
(server/ledger/locks.py), so batches never interleave and the ledger equals
``partnerflow simulate`` over the same events in the same order; a crash before commit
leaves the events pending for the next run, and unique accrual keys make a re-run
harmless. :func:`evaluation_batches` evaluates a batch while the one before is written.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import sys
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from server.campaigns.budget import BudgetCaps
from server.config import DEFAULT_EVALUATION_BATCH_SIZE
from server.db.bulk import insert_rows, update_rows
from server.db.types import utcnow
from server.extensions import db
from server.ledger.commands import StoredEvent, outcome_rows
from server.ledger.db_state import DatabaseState
from server.ledger.holds import release_followups
from server.ledger.locks import evaluation_lock
from server.ledger.models import (
    Accrual,
    AccrualStatus,
    EvaluationLock,
    EventStatus,
    SalesEvent,
)
from server.partners.models import Partner
from server.partners.queries import partner_directory
from server.programs.commands import version_document, version_spec
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.rules.evaluator import Evaluator, Rejection
from server.rules.events import ATTRIBUTION_FIELDS, parse_instant
from server.rules.partners import PartnerDirectory

log = logging.getLogger(__name__)

#: young objects allocated between two collections while batches run (CPython: 700).
#: Freezing is the gain; 50,000 was no faster beyond the noise and let a worker's RSS
#: creep by ~0.1 kB per event, 10,000 keeps it flat (docs/benchmarks.md)
BATCH_GC_THRESHOLD = 10_000
#: CPython's thread switch interval while a writer thread runs (its default: 5 ms). The
#: writer waits on PostgreSQL a dozen times per batch and each time needs the GIL back
#: from the evaluating thread; at 5 ms a wait costs up to 5 ms, which made overlapping
#: no faster than writing in turn (docs/benchmarks.md)
WRITER_SWITCH_INTERVAL = 0.0005
#: compiled evaluators kept per process (durable_rules rulesets cannot be freed)
EVALUATOR_CACHE_SIZE = 16
NO_PROGRAM = "no program in force"
#: the predicate of the partial index ``ix_events_pending_order``, as a literal: a bound
#: parameter would let PostgreSQL's generic plans miss the index
PENDING = sa.text("events.status = 'pending'")

#: keyed by version id *and* content digest: ids repeat across databases (a restore,
#: a test run) and a cached evaluator must never answer for another program
_EVALUATORS: OrderedDict[tuple[int, str], Evaluator] = OrderedDict()


@dataclass(frozen=True)
class BatchReport:
    events: int
    rejected: int
    accruals: int
    #: events still pending after the batch, counted up to ``batch_size``
    remaining: int


def _evaluator(
    version: ProgramVersion, digest: str, partners: PartnerDirectory, state: DatabaseState
) -> Evaluator:
    key = (version.id, digest)
    evaluator = _EVALUATORS.get(key)
    if evaluator is None:
        evaluator = Evaluator(version_spec(version), partners)
        _EVALUATORS[key] = evaluator
        while len(_EVALUATORS) > EVALUATOR_CACHE_SIZE:
            _EVALUATORS.popitem(last=False)
    _EVALUATORS.move_to_end(key)
    evaluator.partners = partners
    evaluator.state = state
    return evaluator


class VersionsInForce:
    """Published versions of the (single) program, looked up by date."""

    def __init__(self) -> None:
        rows = db.session.scalars(
            sa.select(ProgramVersion)
            .join(Program)
            .where(ProgramVersion.status == VersionStatus.published)
            .order_by(ProgramVersion.effective_from, ProgramVersion.number)
        ).all()
        self._versions = [v for v in rows if v.effective_from is not None]
        self._rule_ids: dict[int, dict[str, int]] = {}
        self._digests: dict[int, str] = {}

    def rule_ids(self, version: ProgramVersion | None) -> dict[str, int]:
        """Rule key → rule instance id of a version (cached)."""
        if version is None:
            return {}
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

    def on(self, day: date) -> ProgramVersion | None:
        found = None
        for version in self._versions:
            assert version.effective_from is not None
            if version.effective_from <= day:
                found = version
        return found


def _lock(session: Session) -> None:
    """Count the batch on the lock row (and take the row: a process that evaluates
    without :func:`evaluation_lock` still waits for this transaction)."""
    updated = session.execute(
        sa.update(EvaluationLock)
        .where(EvaluationLock.id == 1)
        .values(batches=EvaluationLock.batches + 1, last_batch_at=utcnow())
    )
    if cast("sa.CursorResult[Any]", updated).rowcount == 0:
        session.add(EvaluationLock(id=1, batches=1, last_batch_at=utcnow()))
        session.flush()


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


@dataclass
class EvaluatedBatch:
    """A batch evaluated in memory, ready to be written in one transaction."""

    event_ids: list[int]
    accruals: list[dict[str, Any]]
    #: the events' statuses, reasons and credited partners
    updates: list[dict[str, Any]]
    state: DatabaseState
    rejected: int
    batch_size: int
    #: evaluated inside the transaction that holds the lock row (campaign budgets
    #: gate its rows): it must be written in that same transaction
    locked: bool = False


def _no_batch_in_flight() -> None:
    """``settle`` for a batch evaluated with none being written."""


def _evaluate(
    session: Session,
    batch_size: int,
    in_flight: EvaluatedBatch | None = None,
    settle: Callable[[], object] = _no_batch_in_flight,
) -> EvaluatedBatch | None:
    """Read the oldest pending events and evaluate them in memory (None: none pending).

    ``in_flight`` is the batch being written meanwhile, if any: its events are skipped
    and its state changes carried over (:meth:`DatabaseState.carry`). ``settle`` waits
    until it is committed. Only reads, unless a campaign budget or running window gates
    the rows: then, after ``settle``, the lock row is taken before the budgets are read,
    and the caller must write the batch in the same transaction (``locked``).
    """
    skipped = set(in_flight.event_ids) if in_flight else set()
    events = [
        row
        for row in session.execute(
            sa.select(
                SalesEvent.id,
                SalesEvent.source,
                SalesEvent.external_id,
                SalesEvent.occurred_at,
                SalesEvent.payload,
            )
            .where(PENDING)
            .order_by(SalesEvent.occurred_at, SalesEvent.external_id, SalesEvent.id)
            .limit(batch_size + len(skipped))
        )
        if row[0] not in skipped
    ][:batch_size]
    if not events:
        return None
    partners = partner_directory()
    partner_ids = {code: pid for code, pid in session.execute(sa.select(Partner.code, Partner.id))}
    state = DatabaseState(session, in_flight.state.carry() if in_flight else None)
    _prefetch(state, [payload for *_, payload in events], partners)
    versions = VersionsInForce()
    in_force = [_version_of(payload, versions) for *_, payload in events]
    # Campaigns: rows of a campaign's rules for events that did not occur while it was
    # running are dropped; the accrual that crosses a budget cap is cut to what is left,
    # later ones are dropped (server/campaigns/budget.py, docs/workspace.md).
    caps = BudgetCaps.load(session)
    locked = caps.gates_rows
    if locked:
        # Budgets and running windows are read as a batch always read them: after the
        # batch being written has committed, in the transaction that holds the lock row
        # (as hold decisions do), so a decision cannot commit between read and write.
        settle()
        _lock(session)
        caps = BudgetCaps.load(session)
    now = utcnow()  # replaced at write time, under the lock row (see _write)
    accruals: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    rejected = 0
    with session.no_autoflush:
        for (row_id, source, external_id, occurred_at, payload), version in zip(
            events, in_force, strict=True
        ):
            if version is None:
                outcomes: list[Any] = [Rejection(external_id, NO_PROGRAM)]
            else:
                evaluator = _evaluator(version, versions.digest(version), partners, state)
                outcomes = evaluator.process(payload)
            result = outcome_rows(
                StoredEvent(row_id, source, external_id, occurred_at),
                outcomes,
                partner_ids=partner_ids,
                rule_ids=versions.rule_ids(version),
                program_version_id=version.id if version else None,
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
            accruals.extend(caps.apply(result.rows))
    return EvaluatedBatch(
        [row[0] for row in events], accruals, updates, state, rejected, batch_size, locked
    )


def _write(session: Session, batch: EvaluatedBatch) -> BatchReport:
    """Write an evaluated batch and commit: accruals, statuses, evaluation state.

    The rows are stamped with the time the lock row is taken, not the time they were
    evaluated: a period close takes the same row, and counts a row as closed when it
    was created before the close (server/statements/commands.py), so a batch's rows
    must all fall on one side of it.
    """
    try:
        if not batch.locked:
            _lock(session)
        now = utcnow()
        for accrual in batch.accruals:
            accrual["created_at"] = now
        for update in batch.updates:
            update["processed_at"] = now
        with session.no_autoflush:
            insert_rows(session, Accrual.__table__, batch.accruals)
            batch.state.write(session)
            update_rows(session, SalesEvent.__table__, batch.updates)
            _release_reversals_of_released_holds(session, batch.accruals)
        # Counted up to one more batch: a full count costs a scan of every pending row,
        # per batch, which a backlog of a million events cannot afford.
        remaining = (
            session.scalar(
                sa.select(sa.func.count()).select_from(
                    sa.select(SalesEvent.id).where(PENDING).limit(batch.batch_size).subquery()
                )
            )
            or 0
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return BatchReport(len(batch.event_ids), batch.rejected, len(batch.accruals), remaining)


def evaluate_pending(batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE) -> BatchReport:
    """Evaluate one batch of pending events and commit it; returns what was done.

    Raises whatever the database or the engine raises; nothing is committed then, and
    the events stay pending.
    """
    session = db.session
    with evaluation_lock():
        try:
            batch = _evaluate(session, batch_size)
        except BaseException:
            session.rollback()
            raise
        if batch is None:
            session.rollback()
            return BatchReport(0, 0, 0, 0)
        return _write(session, batch)


def evaluation_batches(
    batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE,
) -> Generator[BatchReport, None, None]:
    """Batch after batch until none is pending, each committed before its report is
    yielded, with the garbage collector set for the run (:func:`batch_garbage_collection`).

    Batch n + 1 is evaluated (read, then computed in memory) while batch n is written:
    on PostgreSQL by a writer thread, so the server's work and psycopg's waits, which
    let go of the GIL, overlap the engine's Python; on SQLite in turn, as its writes are
    the process's own CPU, but outside the write transaction, so intake can commit while
    the engine runs. Batch n's state changes are carried into n + 1
    (:meth:`DatabaseState.carry`), and n + 1 is written only after n has committed; if n
    fails, n + 1 is dropped unwritten and the error raised here, its events still
    pending. The evaluation lock is held for the whole run, so no other evaluator gets
    in between.

    A caller that stops iterating starts no further batch (the workers' job does, when
    its time is up): a batch evaluated but not yet written is dropped, its events stay
    pending. The collector's settings come back when the generator is closed, which
    CPython does as soon as the loop over it is left.
    """
    session = db.session
    overlap = session.get_bind().dialect.name == "postgresql"
    with evaluation_lock(), batch_garbage_collection(), _batch_writer(overlap) as write:
        writing: Future[BatchReport] | None = None
        written: EvaluatedBatch | None = None
        reported = False
        try:
            while True:
                settle: Callable[[], object] = (
                    writing.result if writing is not None else _no_batch_in_flight
                )
                try:
                    batch = _evaluate(session, batch_size, written, settle)
                except BaseException:
                    session.rollback()
                    raise
                if batch is None or not batch.locked:
                    session.rollback()  # reads only: the next batch reads afresh
                if writing is not None:
                    report = writing.result()
                    writing = written = None
                    reported = True
                    yield report
                    if batch is None and report.remaining:
                        continue  # events came while the last batch was written
                if batch is None:
                    if not reported:
                        yield BatchReport(0, 0, 0, 0)
                    return
                if batch.locked:  # written here, in the transaction holding the lock row
                    report = _write(session, batch)
                    reported = True
                    yield report
                    if not report.remaining:
                        return
                    continue
                writing, written = write(batch), batch
        finally:
            session.rollback()  # a locked batch left unwritten lets go of the lock row
            if writing is not None and not writing.cancel():
                failure = writing.exception()
                if failure is not None and failure is not sys.exc_info()[1]:
                    log.error("writing an evaluated batch failed", exc_info=failure)


@contextmanager
def _batch_writer(
    on_thread: bool,
) -> Iterator[Callable[[EvaluatedBatch], Future[BatchReport]]]:
    """A function writing an evaluated batch (:func:`_write`): on a writer thread, in its
    own app context and session, or here, in this session, before it returns."""
    if not on_thread:

        def write_here(batch: EvaluatedBatch) -> Future[BatchReport]:
            done: Future[BatchReport] = Future()
            try:
                done.set_result(_write(db.session, batch))
            except Exception as error:
                done.set_exception(error)
            return done

        yield write_here
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def write_in_app(batch: EvaluatedBatch) -> BatchReport:
        with app.app_context():
            return _write(db.session, batch)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="ledger-writer") as writer:
            yield lambda batch: writer.submit(write_in_app, batch)
    finally:
        sys.setswitchinterval(previous)


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


def _version_of(payload: dict[str, Any], versions: VersionsInForce) -> ProgramVersion | None:
    """The program version in force on the event's local date (None: none, or no date)."""
    moment = parse_instant(payload.get("occurred_at"))
    return versions.on(moment.date()) if moment else None


def _release_reversals_of_released_holds(session: Session, rows: list[dict[str, Any]]) -> None:
    """A refund of a sale whose held accruals a manager already released must reduce
    the payable balance too: add the release rows for those reversals (rare)."""
    keys = [r["dedupe_key"] for r in rows if r["reverses"] and r["status"] is AccrualStatus.held]
    if not keys:
        return
    reversals = session.scalars(sa.select(Accrual).where(Accrual.dedupe_key.in_(keys))).all()
    session.add_all(release_followups(session, reversals))
    session.flush()
