"""The rq worker process: builds the app once; jobs enter its context with :func:`app_job`."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, has_app_context
from rq import Worker

from server.queues import get_queue, redis_connection

F = TypeVar("F", bound=Callable[..., Any])

_APP: Flask | None = None
_APP_PID: int | None = None


def set_worker_app(app: Flask) -> None:
    """Make ``app`` the one every job of this process runs in."""
    global _APP, _APP_PID
    _APP, _APP_PID = app, os.getpid()


def app_job(function: F) -> F:
    """Run an rq job inside the worker's app context (or the caller's, if inline)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return function(*args, **kwargs)
        if _APP is None:
            raise RuntimeError("no worker app: jobs run inside `partnerflow worker`")
        with _APP.app_context():
            if os.getpid() != _APP_PID:
                # rq forks a work horse per job: never share the parent's connections.
                from server.extensions import db

                db.engine.dispose(close=False)
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def run_worker(app: Flask, burst: bool = False, queues: list[str] | None = None) -> None:
    """Listen on the app's queues until stopped (or until they are empty, with ``burst``)."""
    set_worker_app(app)
    names = queues or app.config["RQ_QUEUES"]
    worker = Worker([get_queue(name, app) for name in names], connection=redis_connection(app))
    # The scheduler runs retries that wait (rq.Retry with intervals).
    worker.work(burst=burst, with_scheduler=True)
