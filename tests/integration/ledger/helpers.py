"""Shared set-up for ledger tests: load a spec example folder into the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.ledger.evaluation import PENDING
from server.ledger.export import ledger_lines
from server.ledger.models import SalesEvent
from server.partners.commands import import_partners
from server.programs.commands import add_program_version
from server.queues import get_queue, redis_connection
from server.rules.partners import load_partners_file
from server.rules.program import load_program_file
from server.security.api_keys import create_api_key
from server.tasks.worker import SimpleWorker, set_worker_app
from tests.conftest import SHARED_DIR

EXAMPLES = SHARED_DIR / "spec" / "examples"
#: the operator's command, as installed next to this Python
PARTNERFLOW = str(Path(sys.executable).parent / "partnerflow")


def load_example(
    app: Flask, folder: Path, source: str = "shop", program: Path | None = None
) -> str:
    """Import the folder's partners and program (published; or the ``program`` file given
    instead); return an API key."""
    with app.app_context():
        import_partners(load_partners_file(folder / "partners.yaml"))
        add_program_version(
            load_program_file(program or folder / "program.yaml"),
            publish=True,
            effective_from=date(2000, 1, 1),
        )
        return create_api_key("test", source).key


def cli_env(app: Flask, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``partnerflow`` command on the app's database and Redis, with
    ``instance`` as its instance folder."""
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "PARTNERFLOW_INSTANCE": str(instance),
        **extra,
    }


def cli(app: Flask, instance: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``partnerflow *args`` on the app's database (see :func:`cli_env`)."""
    return subprocess.run(
        [PARTNERFLOW, *args],
        env=cli_env(app, instance, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def event_lines(folder: Path) -> list[str]:
    """The folder's events, one JSON text per event, as written."""
    return [line for line in (folder / "events.jsonl").read_text().splitlines() if line.strip()]


def raw_batch(folder: Path) -> str:
    """The events file as one JSON array, numbers kept as written."""
    return "[" + ",".join(event_lines(folder)) + "]"


def post_example(app: Flask, folder: Path) -> tuple[str, FlaskClient]:
    """Load the folder and post all its events in one batch (the intake queues their
    evaluation): the API key, and the client that posted."""
    key = load_example(app, folder)
    client = app.test_client()
    post(client, key, raw_batch(folder))
    return key, client


def store_example(app: Flask, client: FlaskClient, folder: Path) -> None:
    """Load the folder and post all its events (every one accepted), with nothing queued:
    for tests that run evaluation themselves."""
    key = load_example(app, folder)
    answer = post(client, key, raw_batch(folder))
    assert answer.status_code == 200 and answer.get_json()["accepted"] == len(event_lines(folder))
    redis_connection(app).flushdb()  # the job intake queued


def pending_events() -> int:
    """Events still pending evaluation (in the caller's app context); ends the read."""
    count = db.session.scalar(sa.select(sa.func.count(SalesEvent.id)).where(PENDING)) or 0
    db.session.rollback()
    return count


def post(client: FlaskClient, key: str, body: str | bytes) -> Any:
    return client.post(
        "/api/v1/events", data=body, headers={"X-API-Key": key, "Content-Type": "application/json"}
    )


def run_worker(app: Flask) -> None:
    """Drain the events queue with a real rq worker on the test Redis."""
    set_worker_app(app)
    queue = get_queue("events", app)
    SimpleWorker([queue], connection=redis_connection(app)).work(burst=True)


def exported(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return list(ledger_lines())


def expected(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in (folder / "expected.jsonl").read_text().splitlines()
        if line.strip()
    ]
