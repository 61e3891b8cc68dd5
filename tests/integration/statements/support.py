"""A real rq worker for the statement, portal and dashboard tests (rows:
tests/support/factories.py; logins: tests/support/web.py)."""

from __future__ import annotations

from flask import Flask


def run_documents_worker(app: Flask, max_jobs: int | None = None) -> None:
    """Run the ``documents`` queue with a real rq worker (in this process)."""
    run_worker_on(app, "documents", max_jobs)


def run_worker_on(app: Flask, name: str, max_jobs: int | None = None) -> None:
    """Run queue ``name`` with a real rq worker (in this process) until it is empty."""
    from server.queues import get_queue, redis_connection
    from server.tasks.worker import SimpleWorker, set_worker_app

    set_worker_app(app)
    with app.app_context():
        queue = get_queue(name, app)
        worker = SimpleWorker([queue], connection=redis_connection(app))
        worker.work(burst=True, max_jobs=max_jobs)
