"""Jobs that evaluate stored events, and the sweeper that re-queues forgotten ones.

Events are committed before any job is queued, so the database is the source of truth:
a job lost with Redis or a worker killed mid-batch only delays evaluation until the
sweeper (``partnerflow sweeper``) sees events pending for too long and queues again.
For the same reason Redis being down never undoes or refuses a commit: queueing is
skipped with a warning, and the sweeper queues once Redis answers again.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from rq import Retry

from server.db.types import utcnow
from server.extensions import db
from server.ledger.evaluation import evaluation_batches
from server.ledger.models import EventStatus, SalesEvent
from server.queues import REDIS_ERRORS, get_queue, redis_connection
from server.tasks.worker import app_job

log = logging.getLogger(__name__)

#: set while an evaluation job is queued, so a burst of API calls queues one job
REQUESTED_FLAG = "partnerflow:evaluation:requested"
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


@app_job
def evaluate_pending_events(batch_size: int | None = None) -> dict[str, int]:
    """Evaluate pending events batch by batch; queue a successor if time runs out."""
    redis_connection().delete(REQUESTED_FLAG)
    size = batch_size or int(current_app.config["EVALUATION_BATCH_SIZE"])
    started = time.monotonic()
    totals = {"events": 0, "rejected": 0, "accruals": 0, "batches": 0}
    for report in evaluation_batches(size):
        totals["events"] += report.events
        totals["rejected"] += report.rejected
        totals["accruals"] += report.accruals
        totals["batches"] += 1
        if report.remaining and time.monotonic() - started > JOB_TIME_BUDGET_SECONDS:
            request_evaluation()
            break
    log.info("evaluated %s", totals)
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
        # The flag may belong to a job that was lost: clear it and queue afresh.
        try:
            redis_connection().delete(REQUESTED_FLAG)
        except REDIS_ERRORS as error:
            log.warning("%s events pending, Redis unavailable: %s", stale, error)
            return int(stale)
        if request_evaluation():
            log.warning("%s events pending for over %ss: evaluation re-queued", stale, timeout)
    return int(stale)
