"""The workers' evaluation job: batch after batch, and a successor when time is up."""

from __future__ import annotations

import gc

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.ledger.evaluation import PENDING
from server.ledger.models import SalesEvent
from server.queues import get_queue, redis_connection
from server.tasks import events as jobs
from tests.integration.ledger.helpers import (
    EXAMPLES,
    expected,
    exported,
    load_example,
    post,
    raw_batch,
)

BASIC = EXAMPLES / "basic"
pytestmark = pytest.mark.skipif(not BASIC.is_dir(), reason=f"no spec examples at {EXAMPLES}")


def _pending() -> int:
    return db.session.scalar(sa.select(sa.func.count(SalesEvent.id)).where(PENDING)) or 0


def _store_the_example(app: Flask, client: FlaskClient) -> None:
    key = load_example(app, BASIC)
    assert post(client, key, raw_batch(BASIC)).status_code == 200
    redis_connection(app).flushdb()  # the job intake queued: this test runs its own


def test_the_job_evaluates_every_batch_and_restores_the_collector(
    app: Flask, client: FlaskClient
) -> None:
    _store_the_example(app, client)
    threshold = gc.get_threshold()
    with app.app_context():
        totals = jobs.evaluate_pending_events(batch_size=4)
        assert _pending() == 0
    assert totals["batches"] > 1 and totals["events"] == sum(
        1 for line in (BASIC / "events.jsonl").read_text().splitlines() if line.strip()
    )
    assert exported(app) == expected(BASIC)
    assert gc.get_threshold() == threshold
    assert len(get_queue("events", app)) == 0  # done: no successor


def test_a_job_out_of_time_stops_after_its_batch_and_queues_a_successor(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_the_example(app, client)
    monkeypatch.setattr(jobs, "JOB_TIME_BUDGET_SECONDS", -1)  # every batch overruns
    threshold = gc.get_threshold()
    with app.app_context():
        before = _pending()
        totals = jobs.evaluate_pending_events(batch_size=4)
        assert (totals["batches"], totals["events"]) == (1, 4)
        assert _pending() == before - 4
    assert gc.get_threshold() == threshold  # the interrupted run's settings undone
    assert len(get_queue("events", app)) == 1
