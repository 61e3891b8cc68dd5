"""Backtest as an rq job on a real worker: totals, progress, CSV, nothing written."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.ledger.models import Accrual, EventStatus, SalesEvent
from server.programs import commands as program_commands
from server.programs.backtest import result_csv
from server.programs.forms import RuleDraft
from server.queues import EXTENSION_KEY
from server.rules.program import parse_program
from server.security.roles import Role
from server.tasks.backtest import enqueue_backtest
from tests.integration.workspace.helpers import (
    basic_events,
    load_basic,
    run_worker,
    store_events,
)
from tests.support.web import login

pytestmark = pytest.mark.spec_examples


def test_backtest_job_compares_draft_with_the_version_in_force(app: Flask) -> None:
    with app.app_context():
        v1 = load_basic()
        store_events(basic_events())
        draft = program_commands.new_draft(v1.id, None)
        program_commands.save_rule(
            draft.id,
            RuleDraft("online-5", "percent_of_sale", {"rate": "10"}, {"channels": ["online"]}),
            None,
            replaces="online-5",
        )
        draft_id = draft.id
        job = enqueue_backtest(draft_id, date(2026, 3, 1), date(2026, 3, 31), app)
    run_worker(app)
    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    result = job.return_value()
    assert result is not None
    assert job.meta["done"] == job.meta["total"] == result["events"] == 12
    assert result["version"] == 2
    # online sales doubled from 5 % to 10 %: the draft pays more
    by_partner = {row["key"]: row for row in result["partners"]}
    assert result["partners"][0]["key"] == max(
        by_partner, key=lambda k: abs(float(by_partner[k]["delta"]))
    )
    changed = [row for row in result["partners"] if row["delta"] not in ("0", "0.00")]
    assert changed and all(float(row["delta"]) > 0 for row in changed)
    assert result["baseline"]["held_events"] == result["draft"]["held_events"]
    rows = list(csv.DictReader(io.StringIO(result_csv(result))))
    assert {r["level"] for r in rows} == {"partner", "region"}
    with app.app_context():
        # nothing was evaluated into the ledger
        assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == 0
        statuses = set(db.session.scalars(sa.select(SalesEvent.status)))
        assert statuses == {EventStatus.pending}


def test_backtest_of_the_published_version_changes_nothing(app: Flask) -> None:
    with app.app_context():
        v1 = load_basic()
        store_events(basic_events())
        job = enqueue_backtest(v1.id, date(2026, 1, 1), date(2026, 12, 31), app)
    run_worker(app)
    result = job.return_value()
    assert result is not None
    assert result["draft"] == result["baseline"]
    assert all(row["delta"] in ("0", "0.00") for row in result["partners"])


def test_backtest_with_the_queue_down_is_a_503_with_a_reason(ws_app: Flask, tmp_path: Path) -> None:
    with ws_app.app_context():
        version_id = load_basic().id
    client = login(ws_app, Role.MANAGER, username="mira")
    ws_app.config["REDIS_URL"] = f"unix://{tmp_path / 'gone.sock'}"  # nobody listens
    ws_app.extensions[EXTENSION_KEY] = None
    started = client.post(
        f"/workspace/version/{version_id}/backtest",
        data={"start": "2026-03-01", "end": "2026-03-31"},
        headers={"Accept": "application/json"},
    )
    assert started.status_code == 503 and started.is_json
    assert (
        "queue" in started.get_json()["error"].lower()
        or "очередь" in started.get_json()["error"].lower()
    )
    assert client.get("/workspace/backtest/some-job").status_code == 503


def test_a_backtest_compares_within_its_own_program(app: Flask) -> None:
    # Several programs in force (spec §6): a program's backtest sets its draft beside
    # its own published versions only; another program in force changes nothing
    with app.app_context():
        v1 = load_basic()
        store_events(basic_events())
        alone = enqueue_backtest(v1.id, date(2026, 1, 1), date(2026, 12, 31), app)
        other = parse_program(
            {
                "program": "points-2026",
                "currency": "RUB",
                "rules": [
                    {
                        "id": "points",
                        "template": "points_per_amount",
                        "params": {"per": "100", "points": 1},
                    }
                ],
            }
        )
        program_commands.add_program_version(other, publish=True, effective_from=date(2026, 1, 1))
        beside = enqueue_backtest(v1.id, date(2026, 1, 1), date(2026, 12, 31), app)
    run_worker(app)
    first, second = alone.return_value(), beside.return_value()
    assert first is not None and second is not None
    assert second["program"] == "example-2026"
    assert (second["draft"], second["baseline"]) == (first["draft"], first["baseline"])
