"""The workers' evaluation jobs: admission batch after batch, queueing the program's
job, which applies the rules; and a successor when time is up."""

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
    queue = get_queue("events", app)
    with app.app_context():
        totals = jobs.evaluate_pending_events(batch_size=4)
        # admitted, not yet applied: the program's job is queued, once
        assert pending_events() > 0
        (queued,) = queue.jobs
        assert queued.func_name == "server.tasks.events.apply_program_events"
        queue.empty()
        (program_id,) = queued.args
        applied = jobs.apply_program_events(program_id, batch_size=4)
        assert pending_events() == 0
    assert totals["batches"] > 1 and totals["events"] == len(event_lines(BASIC))
    assert applied["batches"] > 1 and applied["finished"] == totals["events"] - totals["rejected"]
    assert exported(app) == expected(BASIC)
    assert gc.get_threshold() == threshold
    assert len(queue) == 0  # done: no successor


def test_a_job_out_of_time_stops_after_its_batch_and_queues_a_successor(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_example(app, client, BASIC)
    monkeypatch.setattr(jobs, "JOB_TIME_BUDGET_SECONDS", -1)  # every batch overruns
    threshold = gc.get_threshold()
    queue = get_queue("events", app)
    with app.app_context():
        totals = jobs.evaluate_pending_events(batch_size=4)
        assert (totals["batches"], totals["events"]) == (1, 4)
        # its successor and the program's job
        assert sorted((job.func_name or "").rsplit(".", 1)[1] for job in queue.jobs) == [
            "apply_program_events",
            "evaluate_pending_events",
        ]
        program_job = next(job for job in queue.jobs if job.args)
        queue.empty()
        before = pending_events()
        (program_id,) = program_job.args
        applied = jobs.apply_program_events(program_id, batch_size=2)
        assert (applied["batches"], applied["events"]) == (1, 2)
        assert pending_events() == before - applied["finished"]
        assert [job.args for job in queue.jobs] == [program_job.args]  # its successor
    assert gc.get_threshold() == threshold  # the interrupted run's settings undone
