"""Backtest as an rq job on a real worker: totals, progress, CSV, nothing written."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.ledger.models import Accrual, EventStatus, SalesEvent
from server.programs import versioning
from server.programs.backtest import result_csv
from server.programs.forms import RuleDraft
from server.tasks.backtest import enqueue_backtest
from tests.integration.workspace.helpers import (
    BASIC,
    basic_events,
    load_basic,
    run_worker,
    store_events,
)

pytestmark = pytest.mark.skipif(not BASIC.is_dir(), reason=f"no spec examples at {BASIC}")


def test_backtest_job_compares_draft_with_the_version_in_force(app: Flask) -> None:
    with app.app_context():
        v1 = load_basic()
        store_events(basic_events())
        draft = versioning.new_draft(v1.id, None)
        versioning.save_rule(
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
    assert result["draft"] == result["baseline"]
    assert all(row["delta"] in ("0", "0.00") for row in result["partners"])
