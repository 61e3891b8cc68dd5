"""A worker killed with SIGKILL mid-run loses nothing and pays nothing twice, with two
programs in force (spec §6): the demo's program and a store network's program with its
own month-to-date tiers and a first-purchase bonus (a deployment-wide customer fact).
With two workers the two programs' jobs run at once (docs/ledger.md, evaluation in two
stages): one worker is killed mid-run, and every event is delivered again after."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import pytest
import sqlalchemy as sa
from flask import Flask

from server.demo.commands import PROGRAM_FILE
from server.demo.data import demo_partner_directory, demo_partners
from server.demo.events import demo_events
from server.extensions import db
from server.ledger.models import Accrual, EventStatus, ProgramProgress, SalesEvent
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


def _load_world(app: Flask) -> tuple[list[dict[str, Any]], str]:
    """Demo partners, the two programs, and the first 2,500 demo events posted."""
    events = [
        {k: v for k, v in e.items() if not k.startswith("_")}
        for e in demo_events(demo_partners(), SUITE_DEMO_WINDOW)
    ][:2500]
    with app.app_context():
        import_partners(demo_partner_directory())
        for spec in _programs():
            add_program_version(spec, publish=True, effective_from=date(2026, 1, 1))
        key = create_api_key("pos", "shop").key
    client = app.test_client()
    for start in range(0, len(events), 1000):
        answer = post(client, key, json.dumps(events[start : start + 1000])).get_json()
        assert answer["accepted"] == len(events[start : start + 1000])
    return events, key


def _start_worker(app: Flask, tmp_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PARTNERFLOW, "worker", "--burst"],
        env=cli_env(app, tmp_path, EVALUATION_BATCH_SIZE="100"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _kill_when_processed(app: Flask, worker: subprocess.Popen[bytes], enough: int) -> None:
    """SIGKILL the worker and its work horses once ``enough`` events are processed."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        processed, _total = _counts(app)
        if processed >= enough:
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


def _simulated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    evaluator = Evaluator(_programs(), demo_partner_directory())
    expected = [
        outcome_to_json(o, with_program=True)
        for e in sorted(events, key=lambda e: (e["occurred_at"], e["id"]))
        for o in evaluator.process(e)
    ]
    assert {line["program"] for line in expected if "program" in line} == {
        spec.slug for spec in _programs()
    }
    return expected


def _keys_are_unique(app: Flask) -> None:
    with app.app_context():
        keys = db.session.scalars(sa.select(Accrual.dedupe_key)).all()
        assert len(keys) == len(set(keys))


def test_sigkill_mid_run_with_two_programs_then_recovery_equals_simulate(
    app: Flask, tmp_path: Path
) -> None:
    events, _key = _load_world(app)
    worker = _start_worker(app, tmp_path)
    _kill_when_processed(app, worker, 300)
    processed, total = _counts(app)
    assert 0 < processed < total, (processed, total)

    app.config["PENDING_TIMEOUT_SECONDS"] = 0
    with app.app_context():
        assert sweep_pending() == total - processed
    run_worker(app)
    assert _counts(app) == (total, total)
    assert exported(app) == _simulated(events)
    _keys_are_unique(app)


def test_two_workers_one_killed_while_programs_run_in_parallel_then_redelivery(
    app: Flask, tmp_path: Path
) -> None:
    """Both programs' jobs run at once, one per worker; one worker dies mid-run. The
    other goes on, the sweeper re-queues what the dead one held, and the ledger equals
    ``simulate``; every event delivered again then pays nothing twice."""
    events, key = _load_world(app)
    survivor, victim = _start_worker(app, tmp_path), _start_worker(app, tmp_path)
    try:
        _kill_when_processed(app, victim, 300)
        processed, total = _counts(app)
        assert processed < total, (processed, total)
        assert survivor.wait(timeout=300) == 0
    finally:
        if survivor.poll() is None:
            os.killpg(survivor.pid, signal.SIGKILL)
    with app.app_context():
        # the parallel stage ran: both programs' progress rows took batches
        batches = dict(
            db.session.execute(sa.select(ProgramProgress.program_id, ProgramProgress.batches)).all()
        )
        assert len(batches) == 2 and min(batches.values()) > 0

    app.config["PENDING_TIMEOUT_SECONDS"] = 0
    with app.app_context():
        sweep_pending()
    run_worker(app)
    assert _counts(app) == (total, total)
    expected = _simulated(events)
    assert exported(app) == expected

    client = app.test_client()
    for start in range(0, len(events), 1000):
        chunk = events[start : start + 1000]
        answer = post(client, key, json.dumps(chunk)).get_json()
        assert (answer["accepted"], answer["duplicate"]) == (0, len(chunk)), answer
    run_worker(app)
    assert exported(app) == expected
    _keys_are_unique(app)
