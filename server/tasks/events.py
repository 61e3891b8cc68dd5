"""Jobs that evaluate stored events, and the sweeper that re-queues forgotten ones.

Evaluation runs in two stages (docs/ledger.md): one admission job at a time admits
pending events in processing order, then queues a job per program with admitted
events; program jobs apply their rules, different programs' jobs on different workers
at once. Events are committed before any job is queued, so the database is the source of truth:
a job lost with Redis or a worker killed mid-batch only delays evaluation until the
sweeper (``partnerflow sweeper``) sees events pending for too long and queues again.
For the same reason Redis being down never undoes or refuses a commit: queueing is
skipped with a warning, and the sweeper queues once Redis answers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from rq import Retry

from server.config import DEFAULT_EVALUATION_BATCH_SIZE
from server.db.types import utcnow
from server.extensions import db
from server.ledger.evaluation import (
    admit_pending,
    apply_program,
    batch_garbage_collection,
    finish_applied,
    programs_behind,
)
from server.ledger.models import EventStatus, SalesEvent
from server.queues import REDIS_ERRORS, get_queue, redis_connection
from server.tasks.worker import app_job

log = logging.getLogger(__name__)

#: set while an admission job is queued, so a burst of API calls queues one job
REQUESTED_FLAG = "partnerflow:evaluation:requested"
#: set while a program's job is queued (``%`` the program's id)
PROGRAM_FLAG = "partnerflow:evaluation:program:%d"
#: a job runs batches for at most this long, then queues its successor
JOB_TIME_BUDGET_SECONDS = 60


def request_evaluation() -> bool:
    """Queue an evaluation job unless one is already waiting; True if queued now.

    Call it after the events are committed. It does not raise when Redis is down: it
    logs a warning and returns False, and the sweeper queues the events later.
    """
    ttl = int(current_app.config.get("EVALUATION_FLAG_TTL_SECONDS", 300))
    try:
        connection = redis_connection()
        if not connection.set(REQUESTED_FLAG, "1", nx=True, ex=ttl):
            return False
        get_queue("events").enqueue(
            evaluate_pending_events, retry=Retry(max=3, interval=[5, 30, 120]), job_timeout=600
        )
    except REDIS_ERRORS as error:
        log.warning("evaluation not queued, Redis is unavailable (the sweeper will): %s", error)
        return False
    return True


def request_program_evaluation(program_ids: Iterable[int]) -> int:
    """Queue a job for each program unless one is already waiting; how many were
    queued. Like :func:`request_evaluation`, never raises for Redis being down."""
    ttl = int(current_app.config.get("EVALUATION_FLAG_TTL_SECONDS", 300))
    queued = 0
    try:
        connection = redis_connection()
        for program_id in sorted(program_ids):
            if connection.set(PROGRAM_FLAG % program_id, "1", nx=True, ex=ttl):
                get_queue("events").enqueue(
                    apply_program_events,
                    program_id,
                    retry=Retry(max=3, interval=[5, 30, 120]),
                    job_timeout=600,
                )
                queued += 1
    except REDIS_ERRORS as error:
        log.warning("programs' evaluation not queued, Redis is unavailable: %s", error)
    return queued


@app_job
def evaluate_pending_events(batch_size: int | None = None) -> dict[str, int]:
    """Admit pending events batch by batch, queueing the jobs of the programs each
    batch gives work; queue a successor if time runs out."""
    redis_connection().delete(REQUESTED_FLAG)
    size = batch_size or int(current_app.config["EVALUATION_BATCH_SIZE"])
    started = time.monotonic()
    totals = {"events": 0, "rejected": 0, "batches": 0}
    with batch_garbage_collection():
        while True:
            report = admit_pending(size)
            totals["events"] += report.events
            totals["rejected"] += report.rejected
            totals["batches"] += 1
            request_program_evaluation(report.programs)
            if report.remaining == 0 or report.events == 0:
                break
            if time.monotonic() - started > JOB_TIME_BUDGET_SECONDS:
                request_evaluation()
                break
    log.info("admitted %s", totals)
    return totals


@app_job
def apply_program_events(program_id: int, batch_size: int | None = None) -> dict[str, int]:
    """Apply one program's rules to its admitted events batch by batch, finishing the
    events every program has applied; queue a successor if time runs out."""
    redis_connection().delete(PROGRAM_FLAG % program_id)
    size = batch_size or int(current_app.config["EVALUATION_BATCH_SIZE"])
    started = time.monotonic()
    totals = {"program": program_id, "events": 0, "accruals": 0, "batches": 0, "finished": 0}
    with batch_garbage_collection():
        while True:
            report = apply_program(program_id, size)
            totals["events"] += report.events
            totals["accruals"] += report.accruals
            totals["batches"] += 1
            finished = finish_applied(size)
            totals["finished"] += finished
            if not report.more:
                # caught up: finish whatever every program has passed
                while finished == size:
                    finished = finish_applied(size)
                    totals["finished"] += finished
                break
            if time.monotonic() - started > JOB_TIME_BUDGET_SECONDS:
                request_program_evaluation([program_id])
                break
    log.info("applied %s", totals)
    return totals


def sweep_pending() -> int:
    """Queue evaluation when events have waited longer than ``PENDING_TIMEOUT_SECONDS``.

    Returns how many such events there are. Safe to run from several places at once;
    with Redis down it only counts (and logs), and queues on a later sweep.
    """
    timeout = int(current_app.config.get("PENDING_TIMEOUT_SECONDS", 120))
    stale = (
        db.session.scalar(
            sa.select(sa.func.count(SalesEvent.id)).where(
                SalesEvent.status == EventStatus.pending,
                SalesEvent.received_at < utcnow() - timedelta(seconds=timeout),
            )
        )
        or 0
    )
    db.session.rollback()
    if stale:
        # events every program has applied but no worker finished (one died between)
        while finish_applied() == DEFAULT_EVALUATION_BATCH_SIZE:
            pass
        # The flag may belong to a job that was lost: clear it and queue afresh.
        try:
            redis_connection().delete(REQUESTED_FLAG)
        except REDIS_ERRORS as error:
            log.warning("%s events pending, Redis unavailable: %s", stale, error)
            return int(stale)
        behind = programs_behind()
        db.session.rollback()
        try:
            for program_id in behind:
                redis_connection().delete(PROGRAM_FLAG % program_id)
        except REDIS_ERRORS as error:
            log.warning("%s events pending, Redis unavailable: %s", stale, error)
            return int(stale)
        if request_evaluation() | bool(request_program_evaluation(behind)):
            log.warning("%s events pending for over %ss: evaluation re-queued", stale, timeout)
    return int(stale)
