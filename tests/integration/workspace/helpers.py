"""Shared set-up of workspace tests: the spec's basic example stored as program and events."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask

from server.ledger.intake import ingest_batch
from server.partners.commands import import_partners
from server.programs.commands import add_program_version
from server.programs.models import ProgramVersion
from server.queues import get_queue, redis_connection
from server.rules.partners import load_partners_file
from server.rules.program import load_program_file
from server.security.commands import NewUser, create_user
from server.security.roles import Role
from server.tasks.worker import SimpleWorker, set_worker_app
from tests.conftest import SHARED_DIR

BASIC = SHARED_DIR / "spec" / "examples" / "basic"


def load_basic(publish_from: date = date(2026, 1, 1)) -> ProgramVersion:
    """Partners and program (published) of the basic example; inside an app context."""
    import_partners(load_partners_file(BASIC / "partners.yaml"))
    return add_program_version(
        load_program_file(BASIC / "program.yaml"), publish=True, effective_from=publish_from
    )


def basic_events(folder: Path = BASIC) -> list[dict[str, Any]]:
    return [
        json.loads(line, parse_float=Decimal)
        for line in (folder / "events.jsonl").read_text().splitlines()
        if line.strip()
    ]


def store_events(events: list[dict[str, Any]], source: str = "shop") -> None:
    """Store events as pending (as the API does); nothing is evaluated."""
    ingest_batch(source, events, "RUB")


def run_worker(app: Flask, queue: str = "default") -> None:
    set_worker_app(app)
    SimpleWorker([get_queue(queue, app)], connection=redis_connection(app)).work(burst=True)


def manager(username: str = "manager") -> int:
    return create_user(
        NewUser(username, "secret-pass-1", Role.MANAGER, "Mira", "Manager", f"{username}@x.test")
    )
