"""rq jobs of the ``documents`` queue: render partner statements.

One job per statement, its id derived from the statement's, so a batch can be queued
again after a worker crash: jobs of statements already ``ready`` return at once, and
the statements table (unique per partner and period) never gets a second row.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask
from rq import Queue

from server.queues import get_queue
from server.tasks.documents import DOCUMENTS_QUEUE, RENDER_JOB_TIMEOUT
from server.tasks.worker import app_job

#: jobs sent to Redis per round trip when a batch is queued
ENQUEUE_CHUNK = 500


def render_job_id(statement_id: int) -> str:
    return f"statement-render-{statement_id}"


@app_job
def render_statement_job(statement_id: int) -> str:
    """Render statement ``statement_id``; returns its status."""
    from server.statements.commands import render_statement

    return render_statement(statement_id).value


def enqueue_statement_renders(statement_ids: Sequence[int], app: Flask | None = None) -> None:
    """Queue one render job per statement on the ``documents`` queue.

    Raises:
        server.errors.ConfigurationError: Redis cannot be reached.
    """
    queue = get_queue(DOCUMENTS_QUEUE, app)
    for start in range(0, len(statement_ids), ENQUEUE_CHUNK):
        queue.enqueue_many(
            [
                Queue.prepare_data(
                    render_statement_job,
                    (statement_id,),
                    job_id=render_job_id(statement_id),
                    timeout=RENDER_JOB_TIMEOUT,
                    result_ttl=3600,
                    failure_ttl=7 * 24 * 3600,
                )
                for statement_id in statement_ids[start : start + ENQUEUE_CHUNK]
            ]
        )


#: the KPI rollups' refresh job (one at a time: a fixed job id)
REFRESH_JOB_ID = "kpi-rollups-refresh"


@app_job
def refresh_rollups_job() -> None:
    """Bring the dashboards' KPI rollups up to date."""
    from server.dashboards.rollup import refresh_rollups

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
