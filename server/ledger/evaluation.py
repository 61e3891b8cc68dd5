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
from decimal import Decimal
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
    ProgramProgress,
    SalesEvent,
)
from server.ledger.rows import ProgramRows, StoredEvent, outcome_rows
from server.partners.models import Partner
from server.partners.queries import partner_directory
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.programs.queries import version_document, version_spec
from server.rules.evaluator import Admission, Evaluator, Rejection
from server.rules.events import ATTRIBUTION_FIELDS, EventType, parse_instant
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
#: pending and not admitted yet: the predicate of ``ix_events_pending_order``
UNADMITTED = sa.text("events.status = 'pending' AND events.admitted_seq IS NULL")

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


def _digest(version: ProgramVersion) -> str:
    """SHA-256 of the version's program document."""
    document = json.dumps(version_document(version), sort_keys=True, default=str)
    return hashlib.sha256(document.encode()).hexdigest()


def _latest_version(program_id: int) -> ProgramVersion | None:
    """The program's latest published version (a refund of a sale admitted before the
    versions were recorded reverses with it: reversing reads no rule)."""
    return db.session.scalar(
        sa.select(ProgramVersion)
        .where(
            ProgramVersion.program_id == program_id,
            ProgramVersion.status == VersionStatus.published,
        )
        .order_by(ProgramVersion.effective_from.desc(), ProgramVersion.number.desc())
        .limit(1)
    )


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
            cached = self._digests[version.id] = _digest(version)
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


def _lock() -> int:
    """Serialize admission: the first write of the transaction takes the lock row.
    Returns the last admission number given."""
    updated = db.session.execute(
        sa.update(EvaluationLock)
        .where(EvaluationLock.id == 1)
        .values(batches=EvaluationLock.batches + 1, last_batch_at=utcnow())
    )
    if updated.rowcount == 0:
        db.session.add(EvaluationLock(id=1, batches=1, last_batch_at=utcnow(), admitted_seq=0))
        db.session.flush()
    return int(
        db.session.scalar(sa.select(EvaluationLock.admitted_seq).where(EvaluationLock.id == 1)) or 0
    )


def _period_labels(day: date) -> list[str]:
    return [f"{day.year:04d}-{day.month:02d}", f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"]


def _prefetch(
    state: DatabaseState, payloads: list[dict[str, Any]], partners: PartnerDirectory
) -> None:
    """What admission reads: ids, customers, the sales refunds refer to."""
    customers: set[str] = set()
    sales: set[str] = set()
    for payload in payloads:
        if isinstance(payload.get("customer"), str):
            customers.add(payload["customer"])
        if isinstance(payload.get("refers_to"), str):
            sales.add(payload["refers_to"])
    state.prefetch(
        event_ids=[str(p.get("id")) for p in payloads],
        customers=customers,
        partners=(),
        periods=(),
        sale_ids=sales,
    )


def _prefetch_program(
    state: DatabaseState, payloads: list[dict[str, Any]], partners: PartnerDirectory
) -> None:
    """What a program's batch reads: figures of the partners and periods, its sales."""
    candidates: set[str] = set()
    periods: set[str] = set()
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
        if isinstance(payload.get("refers_to"), str):
            sales.add(payload["refers_to"])
    state.prefetch(event_ids=(), customers=(), partners=candidates, periods=periods, sale_ids=sales)


@dataclass(frozen=True)
class AdmissionReport:
    events: int
    rejected: int
    #: events still waiting for admission after the batch, counted up to ``batch_size``
    remaining: int
    #: the programs with admitted events to apply
    programs: frozenset[int]


def admit_pending(batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE) -> AdmissionReport:
    """Admit one batch of pending events, in processing order, and commit it.

    The first, serialized stage (docs/ledger.md): each event is rejected (final), or
    numbered in the one order of admission with what admission found (credited partner,
    customer facts, the versions of the programs to apply). Raises whatever the
    database raises; nothing is committed then, and the events stay pending.
    """
    session = db.session
    try:
        seq = _lock()
        events = session.execute(
            sa.select(SalesEvent.id, SalesEvent.external_id, SalesEvent.payload)
            .where(UNADMITTED)
            .order_by(SalesEvent.occurred_at, SalesEvent.external_id, SalesEvent.id)
            .limit(batch_size)
        ).all()
        if not events:
            session.commit()
            return AdmissionReport(0, 0, 0, frozenset())
        partners = partner_directory()
        partner_ids = {
            code: pid for code, pid in session.execute(sa.select(Partner.code, Partner.id))
        }
        state = DatabaseState(session)
        _prefetch(state, [payload for *_, payload in events], partners)
        versions = VersionsInForce()
        in_force = [_versions_of(payload, versions) for *_, payload in events]
        evaluators = {
            used: _evaluator(used, versions.digests(used), partners, state)
            for used in set(in_force)
            if used
        }
        now = utcnow()
        updates: list[dict[str, Any]] = []
        programs: set[int] = set()
        rejected = 0
        with session.no_autoflush:
            for (row_id, external_id, payload), used in zip(events, in_force, strict=True):
                admitted: Admission | Rejection
                if not used:
                    admitted = Rejection(external_id, NO_PROGRAM)
                else:
                    admitted = evaluators[used].admit(payload)
                if isinstance(admitted, Rejection):
                    rejected += 1
                    updates.append(
                        {
                            "id": row_id,
                            "status": EventStatus.rejected,
                            "rejection_reason": admitted.reason,
                            "processed_at": now,
                        }
                    )
                    continue
                seq += 1
                facts = _admission_facts(admitted, used, state)
                programs.update(int(pid) for pid in facts["versions"])
                programs.update(int(pid) for pid in facts.get("reverse", {}))
                partner = admitted.partner.id if admitted.partner else facts.pop("sale_partner")
                updates.append(
                    {
                        "id": row_id,
                        "admitted_seq": seq,
                        "admission": facts,
                        "partner_id": partner_ids[partner],
                    }
                )
            state.write()
            update_rows(session, SalesEvent.__table__, updates)
            session.execute(
                sa.update(EvaluationLock).where(EvaluationLock.id == 1).values(admitted_seq=seq)
            )
            _ensure_progress_rows(programs)
        remaining = (
            session.scalar(
                sa.select(sa.func.count()).select_from(
                    sa.select(SalesEvent.id).where(UNADMITTED).limit(batch_size).subquery()
                )
            )
            or 0
        )
        session.commit()
        return AdmissionReport(len(events), rejected, remaining, frozenset(programs))
    except BaseException:
        session.rollback()
        raise


def _admission_facts(admitted: Admission, used: InForce, state: DatabaseState) -> dict[str, Any]:
    """What the programs' batches need of an admission, as JSON."""
    event = admitted.event
    in_force: dict[str, int | None] = {str(v.program_id): v.id for v in used}
    facts: dict[str, Any] = {
        "partner": admitted.partner.id if admitted.partner else None,
        "versions": in_force,
    }
    if event.type is EventType.SALE:
        facts["first_purchase"] = admitted.first_purchase
        if admitted.recent_sales:
            facts["recent"] = {str(w): n for w, n in admitted.recent_sales.items()}
        state.sale_versions[event.id] = in_force
    elif event.type is EventType.REFUND:
        assert event.refers_to is not None
        sale = state.find_sale(event.refers_to)
        assert sale is not None
        facts["sale_partner"] = sale.partner
        # programs no longer in force still reverse what they booked for the sale
        reverse = {
            pid: version
            for pid, version in state.sale_versions.get(event.refers_to, {}).items()
            if pid not in in_force
        }
        if reverse:
            facts["reverse"] = reverse
    return facts


def _ensure_progress_rows(programs: set[int]) -> None:
    """A progress row for every program admission gave work (under the admission lock,
    so two batches never insert the same row)."""
    known = set(
        db.session.scalars(
            sa.select(ProgramProgress.program_id).where(ProgramProgress.program_id.in_(programs))
        )
    )
    for program_id in sorted(programs - known):
        db.session.add(ProgramProgress(program_id=program_id, applied_seq=0, batches=0))
    db.session.flush()


@dataclass(frozen=True)
class ProgramReport:
    #: admitted events the batch went through (those of other programs included)
    events: int
    accruals: int
    #: whether admitted events may still wait for this program
    more: bool


#: admitted events whose programs have not all applied them, as the partial index
#: ``ix_events_admitted_pending`` says it (a literal, for PostgreSQL's generic plans)
ADMITTED = sa.text("events.status = 'pending' AND events.admitted_seq IS NOT NULL")


def apply_program(
    program_id: int, batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE
) -> ProgramReport:
    """Apply one program's rules to its next batch of admitted events and commit.

    The second stage: one batch of a program at a time (its progress row is the lock),
    programs in parallel. Events are taken in admission order, so the program's figures
    and sales see them as ``simulate`` does; its progress moves past every admitted
    event of the batch, its own or not.
    """
    session = db.session
    try:
        updated = session.execute(
            sa.update(ProgramProgress)
            .where(ProgramProgress.program_id == program_id)
            .values(batches=ProgramProgress.batches + 1, last_batch_at=utcnow())
        )
        if updated.rowcount == 0:
            session.commit()
            return ProgramReport(0, 0, False)
        applied = session.scalar(
            sa.select(ProgramProgress.applied_seq).where(ProgramProgress.program_id == program_id)
        )
        events = session.execute(
            sa.select(
                SalesEvent.id,
                SalesEvent.source,
                SalesEvent.external_id,
                SalesEvent.occurred_at,
                SalesEvent.payload,
                SalesEvent.admitted_seq,
                SalesEvent.admission,
            )
            .where(ADMITTED, SalesEvent.admitted_seq > applied)
            .order_by(SalesEvent.admitted_seq)
            .limit(batch_size)
        ).all()
        if not events:
            session.commit()
            return ProgramReport(0, 0, False)
        key = str(program_id)
        own = [
            e
            for e in events
            if key in e.admission["versions"] or key in e.admission.get("reverse", {})
        ]
        written = 0
        if own:
            written = _apply(program_id, own)
        session.execute(
            sa.update(ProgramProgress)
            .where(ProgramProgress.program_id == program_id)
            .values(applied_seq=events[-1].admitted_seq)
        )
        session.commit()
        return ProgramReport(len(events), written, len(events) == batch_size)
    except BaseException:
        session.rollback()
        raise


def _apply(program_id: int, events: list[Any]) -> int:
    """The program's accruals for its admitted events, added to the session."""
    session = db.session
    key = str(program_id)
    partners = partner_directory()
    partner_ids = {code: pid for code, pid in session.execute(sa.select(Partner.code, Partner.id))}
    state = DatabaseState(session, program_id=program_id)
    _prefetch_program(state, [e.payload for e in events], partners)
    versions = {
        v.id: v
        for v in session.scalars(
            sa.select(ProgramVersion).where(
                ProgramVersion.program_id == program_id,
                ProgramVersion.id.in_(
                    {
                        e.admission["versions"].get(key) or e.admission.get("reverse", {}).get(key)
                        for e in events
                    }
                    - {None}
                ),
            )
        )
    }
    fallback = _latest_version(program_id)
    slug = session.scalar(sa.select(Program.slug).where(Program.id == program_id))
    assert slug is not None
    digests: dict[int, str] = {}
    caps = BudgetCaps.load(session)
    now = utcnow()
    reversals: list[dict[str, Any]] = []
    # read before the accruals stream: a query in the loop would end the COPY
    evaluators = {}
    for version in [*versions.values(), fallback]:
        if version is not None and version.id not in evaluators:
            digests[version.id] = _digest(version)
            evaluators[version.id] = _evaluator((version,), (digests[version.id],), partners, state)
    rule_ids = {vid: {r.rule_key: r.id for r in v.rules} for vid, v in versions.items()}
    with session.no_autoflush, InsertStream(session, Accrual.__table__) as accruals:
        for row_id, source, external_id, occurred_at, payload, _seq, facts in events:
            in_force = facts["versions"].get(key)
            version_id = in_force or facts.get("reverse", {}).get(key) or fallback.id  # type: ignore[union-attr]
            evaluator = evaluators[version_id]
            admitted = evaluator.admitted(
                payload,
                facts["partner"],
                facts.get("first_purchase", False),
                {Decimal(w): n for w, n in facts.get("recent", {}).items()},
            )
            outcomes = evaluator.apply(admitted)
            if not outcomes:
                continue
            programs = (
                {slug: ProgramRows(program_id, in_force, rule_ids[in_force])} if in_force else {}
            )
            result = outcome_rows(
                StoredEvent(row_id, source, external_id, occurred_at),
                outcomes,
                partner_ids=partner_ids,
                programs=programs,
                program_ids={slug: program_id},
                created_at=now,
            )
            rows = caps.apply(result.rows)
            accruals.write(rows)
            reversals.extend(r for r in rows if r["reverses"])
    with session.no_autoflush:
        state.write()
        _release_reversals_of_released_holds(reversals)
    return accruals.written


def finish_applied(limit: int = DEFAULT_EVALUATION_BATCH_SIZE) -> int:
    """Mark processed the admitted events every one of their programs has applied;
    returns how many. Idempotent: any worker may run it after a program's batch."""
    session = db.session
    try:
        progress = dict(
            session.execute(
                sa.select(ProgramProgress.program_id, ProgramProgress.applied_seq)
            ).all()
        )
        # PostgreSQL: FOR NO KEY UPDATE, the lock the UPDATE itself takes. FOR UPDATE
        # would wait for every running program batch, whose new accruals hold their
        # events FOR KEY SHARE (server/db/references.py), and so serialize the programs'
        # workers. Locked in admission order, two finishing workers wait for each
        # other and never deadlock; the later one reads the progress the earlier one
        # could not yet see (no SKIP LOCKED: a skipped row could be left unfinished).
        # SQLite locks the file.
        events = session.execute(
            sa.select(SalesEvent.id, SalesEvent.admitted_seq, SalesEvent.admission)
            .where(ADMITTED)
            .order_by(SalesEvent.admitted_seq)
            .limit(limit)
            .with_for_update(key_share=True)
        ).all()
        now = utcnow()
        done = [
            {"id": row_id, "status": EventStatus.processed, "processed_at": now}
            for row_id, seq, facts in events
            if all(
                progress.get(int(pid), 0) >= seq
                for pid in [*facts["versions"], *facts.get("reverse", {})]
            )
        ]
        update_rows(session, SalesEvent.__table__, done)
        session.commit()
        return len(done)
    except BaseException:
        session.rollback()
        raise


def programs_behind() -> list[int]:
    """Programs with admitted events still to apply, in id order."""
    admitted = (
        db.session.scalar(sa.select(EvaluationLock.admitted_seq).where(EvaluationLock.id == 1)) or 0
    )
    return list(
        db.session.scalars(
            sa.select(ProgramProgress.program_id)
            .where(ProgramProgress.applied_seq < admitted)
            .order_by(ProgramProgress.program_id)
        )
    )


def evaluate_pending(batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE) -> BatchReport:
    """Admit one batch, then let every program apply what is admitted, one after the
    other in this process, and finish the events (the two stages in one call: the CLI,
    the demo and tests; workers run them as separate jobs, programs in parallel)."""
    admitted = admit_pending(batch_size)
    accruals = 0
    for program_id in programs_behind():
        while True:
            report = apply_program(program_id, batch_size)
            accruals += report.accruals
            if not report.more:
                break
    while finish_applied(batch_size) == batch_size:
        pass
    return BatchReport(admitted.events, admitted.rejected, accruals, admitted.remaining)


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


def _release_reversals_of_released_holds(rows: list[dict[str, Any]]) -> None:
    """A refund of a sale whose held accruals a manager already released must reduce
    the payable balance too: add the release rows for those reversals (rare)."""
    keys = [r["dedupe_key"] for r in rows if r["reverses"] and r["status"] is AccrualStatus.held]
    if not keys:
        return
    reversals = db.session.scalars(sa.select(Accrual).where(Accrual.dedupe_key.in_(keys))).all()
    db.session.add_all(release_followups(db.session, reversals))
    db.session.flush()
