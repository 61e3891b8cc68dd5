"""The rq worker process: builds the app once; jobs enter its context with :func:`app_job`."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import rq
from flask import Flask, has_app_context
from rq.worker import BaseWorker

from server.queues import get_queue, redis_connection

F = TypeVar("F", bound=Callable[..., Any])

#: seconds the command-channel reader waits per read (rq's own is 60)
COMMAND_READ_SECONDS = 1.0

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


class _PromptExit(BaseWorker):
    """rq's subscription to its command channel (stop a job, shut down), read in short
    slices so that a worker leaves as soon as it is done.

    rq reads the channel in 60-second slices, and redis-py 8 stops the reader by waiting
    for the slice in progress. When the reader took the unsubscribe reply before the stop
    reached it, a worker that had finished its work waited up to a minute to exit: every
    burst run and every stop, most often on a loaded machine (about twenty tests of one
    full suite run lasted 55-63 s each, most of them such waits).
    """

    def subscribe(self) -> None:
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        # rq declares the attribute as None only
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=COMMAND_READ_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


class Worker(_PromptExit, rq.Worker):
    """The worker of ``partnerflow worker``: forks a work horse per job."""


class SimpleWorker(_PromptExit, rq.SimpleWorker):
    """A worker that runs jobs in its own process (the tests' and benchmarks' burst runs)."""


def run_worker(app: Flask, burst: bool = False, queues: list[str] | None = None) -> None:
    """Listen on the app's queues until stopped (or until they are empty, with ``burst``)."""
    set_worker_app(app)
    names = queues or app.config["RQ_QUEUES"]
    worker = Worker([get_queue(name, app) for name in names], connection=redis_connection(app))
    # The scheduler runs retries that wait (rq.Retry with intervals).
    worker.work(burst=burst, with_scheduler=True)
