"""rq job: backtest a program version over a period (writes nothing to the ledger).

Progress is kept in the job's meta (``done``, ``total``) for the page's progress bar;
the result dict (see :mod:`server.programs.backtest`) is the job's result.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask
from rq import get_current_job
from rq.job import Job

from server.queues import get_queue
from server.tasks.worker import app_job

#: queue the backtests run on
BACKTEST_QUEUE = "default"
#: seconds one backtest may take
BACKTEST_TIMEOUT = 1800
#: seconds a result stays downloadable
RESULT_TTL = 7 * 24 * 3600


@app_job
def backtest_job(version_id: int, start: str, end: str) -> dict[str, Any]:
    """Run :func:`server.programs.backtest.run_backtest`; dates are ISO text."""
    from server.programs.backtest import run_backtest

    job = get_current_job()

    def progress(done: int, total: int) -> None:
        if job is not None:
            job.meta["done"], job.meta["total"] = done, total
            job.save_meta()

    return run_backtest(version_id, date.fromisoformat(start), date.fromisoformat(end), progress)


def enqueue_backtest(version_id: int, start: date, end: date, app: Flask | None = None) -> Job:
    """Queue a backtest. Raises ``ConfigurationError`` when Redis cannot be reached."""
    job = get_queue(BACKTEST_QUEUE, app).enqueue(
        backtest_job,
        version_id,
        start.isoformat(),
        end.isoformat(),
        job_timeout=BACKTEST_TIMEOUT,
        result_ttl=RESULT_TTL,
        failure_ttl=RESULT_TTL,
        meta={"version_id": version_id, "done": 0, "total": 0},
    )
    return job
