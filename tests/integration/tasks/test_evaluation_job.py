"""The workers' evaluation job: batch after batch, and a successor when time is up."""

from __future__ import annotations

import gc

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.queues import get_queue
from server.tasks import events as jobs
from tests.integration.ledger.helpers import (
    EXAMPLES,
    event_lines,
    expected,
    exported,
    pending_events,
    store_example,
)

BASIC = EXAMPLES / "basic"
pytestmark = pytest.mark.spec_examples


def test_the_job_evaluates_every_batch_and_restores_the_collector(
    app: Flask, client: FlaskClient
) -> None:
    store_example(app, client, BASIC)
    threshold = gc.get_threshold()
    with app.app_context():
        totals = jobs.evaluate_pending_events(batch_size=4)
        assert pending_events() == 0
    assert totals["batches"] > 1 and totals["events"] == len(event_lines(BASIC))
    assert exported(app) == expected(BASIC)
    assert gc.get_threshold() == threshold
    assert len(get_queue("events", app)) == 0  # done: no successor


def test_a_job_out_of_time_stops_after_its_batch_and_queues_a_successor(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_example(app, client, BASIC)
    monkeypatch.setattr(jobs, "JOB_TIME_BUDGET_SECONDS", -1)  # every batch overruns
    threshold = gc.get_threshold()
    with app.app_context():
        before = pending_events()
        totals = jobs.evaluate_pending_events(batch_size=4)
        assert (totals["batches"], totals["events"]) == (1, 4)
        assert pending_events() == before - 4
    assert gc.get_threshold() == threshold  # the interrupted run's settings undone
    assert len(get_queue("events", app)) == 1
