"""The rq worker process: builds the app once and runs every job inside its context."""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import Worker

from server.queues import get_queue, redis_connection

_APP: Flask | None = None


def current_worker_app() -> Flask:
    """The app of this worker process (jobs use it to enter an app context)."""
    if _APP is None:
        raise RuntimeError("no worker app: jobs run inside `partnerflow worker`")
    return _APP


class AppWorker(Worker):
    """An rq worker whose jobs run inside the Flask app context."""

    def perform_job(self, job: Any, queue: Any) -> bool:
        assert _APP is not None
        with _APP.app_context():
            return bool(super().perform_job(job, queue))


def run_worker(app: Flask, burst: bool = False, queues: list[str] | None = None) -> None:
    """Listen on the app's queues until stopped (or until empty with ``burst``)."""
    global _APP
    _APP = app
    names = queues or app.config["RQ_QUEUES"]
    worker = AppWorker(
        [get_queue(name, app) for name in names], connection=redis_connection(app)
    )
    worker.work(burst=burst, with_scheduler=False)
