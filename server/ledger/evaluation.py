"""Evaluate stored events into the ledger: the workers' one path to the rules engine.

:func:`evaluate_pending` takes the oldest pending events (by ``occurred_at``, then id:
the spec's processing order), evaluates each against the program version in force on
its local date, and commits accruals, statuses and evaluation state in one transaction.
Batches are serialized by a lock row, so the ledger equals ``partnerflow simulate`` over
the same events in the same order; a crash before commit leaves the events pending for
the next run, and unique accrual keys make a re-run harmless.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from server.db.types import utcnow
from server.extensions import db
from server.ledger.commands import record_outcomes
from server.ledger.db_state import DatabaseState
from server.ledger.models import EvaluationLock, EventStatus, SalesEvent
from server.partners.models import Partner
from server.partners.queries import partner_directory
from server.programs.commands import version_spec
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.rules.evaluator import Evaluator, Rejection
from server.rules.events import ATTRIBUTION_FIELDS, parse_instant
from server.rules.partners import PartnerDirectory

log = logging.getLogger(__name__)

#: events per batch (one transaction); large enough to amortise queries
DEFAULT_BATCH_SIZE = 1000
#: compiled evaluators kept per process (durable_rules rulesets cannot be freed)
EVALUATOR_CACHE_SIZE = 16
NO_PROGRAM = "no program in force"

_EVALUATORS: OrderedDict[int, Evaluator] = OrderedDict()


@dataclass(frozen=True)
class BatchReport:
    events: int
    rejected: int
    accruals: int
    remaining: int


def _evaluator(
    version: ProgramVersion, partners: PartnerDirectory, state: DatabaseState
) -> Evaluator:
    evaluator = _EVALUATORS.get(version.id)
    if evaluator is None:
        evaluator = Evaluator(version_spec(version), partners)
        _EVALUATORS[version.id] = evaluator
        while len(_EVALUATORS) > EVALUATOR_CACHE_SIZE:
            _EVALUATORS.popitem(last=False)
    _EVALUATORS.move_to_end(version.id)
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

    def on(self, day: date) -> ProgramVersion | None:
        found = None
        for version in self._versions:
            assert version.effective_from is not None
            if version.effective_from <= day:
                found = version
        return found


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


def _prefetch(state: DatabaseState, events: list[SalesEvent], partners: PartnerDirectory) -> None:
    candidates: set[str] = set()
    periods: set[str] = set()
    customers: set[str] = set()
    sales: set[str] = set()
    for event in events:
        payload = event.payload
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
        event_ids=[e.external_id for e in events],
        customers=customers,
        partners=candidates,
        periods=periods,
        sale_ids=sales,
    )


def evaluate_pending(batch_size: int = DEFAULT_BATCH_SIZE) -> BatchReport:
    """Evaluate one batch of pending events and commit it; returns what was done.

    The caller loops while ``remaining`` > 0. Raises whatever the database or the
    engine raises; nothing is committed then, and the events stay pending.
    """
    session = db.session
    try:
        _lock()
        events = session.scalars(
            sa.select(SalesEvent)
            .where(SalesEvent.status == EventStatus.pending)
            .order_by(SalesEvent.occurred_at, SalesEvent.external_id, SalesEvent.id)
            .limit(batch_size)
        ).all()
        if not events:
            session.commit()
            return BatchReport(0, 0, 0, 0)
        partners = partner_directory()
        partner_ids = dict(session.execute(sa.select(Partner.code, Partner.id)).tuples().all())
        state = DatabaseState(session)
        _prefetch(state, list(events), partners)
        versions = VersionsInForce()
        written = rejected = 0
        now = utcnow()
        for event in events:
            assert event.occurred_at is not None
            local_day = parse_instant(event.payload["occurred_at"])
            version = versions.on(local_day.date()) if local_day else None
            if version is None:
                outcomes: list[Any] = [Rejection(event.external_id, NO_PROGRAM)]
            else:
                evaluator = _evaluator(version, partners, state)
                outcomes = evaluator.process(event.payload)
            accruals = record_outcomes(
                event,
                outcomes,
                partner_ids=partner_ids,
                rule_ids={r.rule_key: r.id for r in version.rules} if version else {},
                program_version_id=version.id if version else None,
                processed_at=now,
            )
            credited = next((a for a in accruals if a.level is None), None)
            if credited is not None:
                event.partner_id = credited.partner_id
            rejected += event.status is EventStatus.rejected
            written += len(accruals)
            session.add_all(accruals)
        state.write()
        session.flush()
        remaining = (
            session.scalar(
                sa.select(sa.func.count(SalesEvent.id)).where(
                    SalesEvent.status == EventStatus.pending
                )
            )
            or 0
        )
        session.commit()
        return BatchReport(len(events), rejected, written, remaining)
    except BaseException:
        session.rollback()
        raise
