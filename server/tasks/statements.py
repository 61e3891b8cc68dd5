"""rq jobs of the ``documents`` queue: render partner statements.

One job per statement, its id derived from the statement's, so a batch can be queued
again after a worker crash: jobs of statements already ``ready`` return at once, and
the statements table (unique per partner and period) never gets a second row.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask
from rq import Queue

from server.queues import get_queue, queue_or_log
from server.statements.commands import render_statement, statement_ids
from server.statements.models import StatementStatus
from server.tasks.documents import DOCUMENTS_QUEUE, RENDER_JOB_TIMEOUT
from server.tasks.worker import app_job

#: jobs sent to Redis per round trip when a batch is queued
ENQUEUE_CHUNK = 500


def render_job_id(statement_id: int) -> str:
    return f"statement-render-{statement_id}"


@app_job
def render_statement_job(statement_id: int) -> str:
    """Render statement ``statement_id``; returns its status."""
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


def enqueue_close_renders(close_id: int, app: Flask | None = None) -> int:
    """Queue the render of every statement of a close not yet ``ready``; returns how
    many. Safe to call again after a worker crash or a Redis outage: a statement already
    rendered is skipped by its job, and no second statement row can exist.

    Raises:
        server.errors.CommandError: unknown close.
        server.errors.ConfigurationError, redis.RedisError: Redis cannot be reached.
    """
    ids = statement_ids(close_id, (StatementStatus.pending, StatementStatus.failed))
    enqueue_statement_renders(ids, app)
    return len(ids)


def renders_after_close(close_id: int) -> int:
    """Queue a close's renders right after its commit; 0 if Redis is down (logged: the
    statements stay ``pending`` for the close page's "queue again")."""
    queued: list[int] = []
    queue_or_log("statement renders", lambda: queued.append(enqueue_close_renders(close_id)))
    return queued[0] if queued else 0
