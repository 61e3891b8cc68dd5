"""A worker killed with SIGKILL mid-run loses nothing and pays nothing twice, with two
programs in force (spec §6): the demo's program and a store network's program with its
own month-to-date tiers and a first-purchase bonus (a deployment-wide customer fact)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from flask import Flask

from server.demo.commands import PROGRAM_FILE
from server.demo.data import demo_partner_directory, demo_partners
from server.demo.events import demo_events
from server.extensions import db
from server.ledger.models import Accrual, EventStatus, SalesEvent
from server.partners.commands import import_partners
from server.programs.commands import add_program_version
from server.rules.evaluator import Evaluator
from server.rules.output import outcome_to_json
from server.rules.program import ProgramSpec, load_program_file, parse_program
from server.security.api_keys import create_api_key
from server.tasks.events import sweep_pending
from tests.integration.ledger.helpers import PARTNERFLOW, cli_env, exported, post, run_worker
from tests.support.clock import SUITE_DEMO_WINDOW

# its workers run in subprocesses, on the machine clock
pytestmark = pytest.mark.real_clock


#: the second program: the spec's store network (two-programs example) for everybody
STORES = {
    "program": "stores-2026",
    "title": "Сеть магазинов 2026",
    "currency": "RUB",
    "rules": [
        {
            "id": "store-tiers",
            "template": "tiered_percent",
            "params": {"tiers": [{"from": "0", "rate": "3"}, {"from": "20000", "rate": "5"}]},
        },
        {"id": "points", "template": "points_per_amount", "params": {"per": "100", "points": 1}},
        {"id": "first-visit", "template": "first_purchase_bonus", "params": {"amount": "100"}},
    ],
}


def _programs() -> list[ProgramSpec]:
    return [load_program_file(PROGRAM_FILE), parse_program(STORES)]


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        processed = (
            db.session.scalar(
                sa.select(sa.func.count(SalesEvent.id)).where(
                    SalesEvent.status != EventStatus.pending
                )
            )
            or 0
        )
        total = db.session.scalar(sa.select(sa.func.count(SalesEvent.id))) or 0
        db.session.rollback()
        return processed, total


def test_sigkill_mid_run_with_two_programs_then_recovery_equals_simulate(
    app: Flask, tmp_path: Path
) -> None:
    directory = demo_partner_directory()
    events = [
        {k: v for k, v in e.items() if not k.startswith("_")}
        for e in demo_events(demo_partners(), SUITE_DEMO_WINDOW)
    ][:2500]
    with app.app_context():
        import_partners(directory)
        for spec in _programs():
            add_program_version(spec, publish=True, effective_from=date(2026, 1, 1))
        key = create_api_key("pos", "shop").key
    client = app.test_client()
    for start in range(0, len(events), 1000):
        answer = post(client, key, json.dumps(events[start : start + 1000])).get_json()
        assert answer["accepted"] == len(events[start : start + 1000])

    worker = subprocess.Popen(
        [PARTNERFLOW, "worker", "--burst"],
        env=cli_env(app, tmp_path, EVALUATION_BATCH_SIZE="100"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        processed, total = _counts(app)
        if processed >= 300:
            break
        assert worker.poll() is None, "the worker finished before it could be killed"
        time.sleep(0.02)
    # rq runs each job in a forked "work horse" that starts its own session: kill the
    # worker and every descendant, or the horse would go on evaluating.
    family = psutil.Process(worker.pid).children(recursive=True)
    os.killpg(worker.pid, signal.SIGKILL)
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    worker.wait()
    processed, total = _counts(app)
    assert 0 < processed < total, (processed, total)

    app.config["PENDING_TIMEOUT_SECONDS"] = 0
    with app.app_context():
        assert sweep_pending() == total - processed
    run_worker(app)
    assert _counts(app) == (total, total)

    evaluator = Evaluator(_programs(), directory)
    expected = [
        outcome_to_json(o, with_program=True)
        for e in sorted(events, key=lambda e: (e["occurred_at"], e["id"]))
        for o in evaluator.process(e)
    ]
    assert {line["program"] for line in expected if "program" in line} == {
        spec.slug for spec in _programs()
    }
    assert exported(app) == expected
    with app.app_context():
        keys = db.session.scalars(sa.select(Accrual.dedupe_key)).all()
        assert len(keys) == len(set(keys))
