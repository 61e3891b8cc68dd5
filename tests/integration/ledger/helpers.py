"""Shared set-up for ledger tests: load a spec example folder into the app."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from rq import SimpleWorker

from server.ledger.export import ledger_lines
from server.partners.commands import import_partners
from server.programs.commands import add_program_version
from server.queues import get_queue, redis_connection
from server.rules.partners import load_partners_file
from server.rules.program import load_program_file
from server.security.api_keys import create_api_key
from server.tasks.worker import set_worker_app
from tests.conftest import SHARED_DIR

EXAMPLES = SHARED_DIR / "spec" / "examples"


def load_example(app: Flask, folder: Path, source: str = "shop") -> str:
    """Import the folder's partners and program (published); return an API key."""
    with app.app_context():
        import_partners(load_partners_file(folder / "partners.yaml"))
        add_program_version(
            load_program_file(folder / "program.yaml"),
            publish=True,
            effective_from=date(2000, 1, 1),
        )
        return create_api_key("test", source).key


def raw_batch(folder: Path) -> str:
    """The events file as one JSON array, numbers kept as written."""
    lines = [line for line in (folder / "events.jsonl").read_text().splitlines() if line.strip()]
    return "[" + ",".join(lines) + "]"


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
