"""rq job of the dashboards: bring the KPI rollups up to date, and what a dashboard
request does when they are stale."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from server.dashboards.rollup import refresh_rollups, rollups_state
from server.db.types import utcnow
from server.queues import get_queue, queue_or_log
from server.tasks.worker import app_job

#: the KPI rollups' refresh job (one at a time: a fixed job id)
REFRESH_JOB_ID = "kpi-rollups-refresh"


@app_job
def refresh_rollups_job() -> None:
    """Bring the dashboards' KPI rollups up to date."""
    refresh_rollups()


def enqueue_rollup_refresh(app: Flask | None = None) -> None:
    """Queue a rollup refresh on the ``default`` queue unless one is already waiting.

    Raises:
        server.errors.ConfigurationError: Redis cannot be reached.
    """
    queue = get_queue("default", app)
    if REFRESH_JOB_ID in queue.get_job_ids():
        return
    queue.enqueue(refresh_rollups_job, job_id=REFRESH_JOB_ID, result_ttl=60, failure_ttl=3600)


def ensure_rollups() -> datetime:
    """Rollups fit for a dashboard request; returns the instant they are current as of.

    Never built: built now, in the request. Stale: a refresh is queued for a worker and
    the request reads the figures as they are; with Redis down it refreshes in the
    request instead.
    """
    moment, fresh = rollups_state()
    if moment is not None and (fresh or queue_or_log("rollup refresh", enqueue_rollup_refresh)):
        return moment
    refresh_rollups()
    moment, _fresh = rollups_state()
    return moment or utcnow()
