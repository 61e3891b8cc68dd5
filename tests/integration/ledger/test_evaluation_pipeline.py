"""Evaluation batch after batch: batch n written while n + 1 is evaluated (PostgreSQL),
reads outside the write transaction (SQLite), one evaluator at a time (the lock).

The events here make consecutive batches depend on each other (a customer's second
purchase, a refund right after its sale, a month's goal counted across batches), so
state carried from the batch being written is what makes the ledger come out right.
"""

from __future__ import annotations

import json
import random
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.ledger import evaluation
from server.ledger.evaluation import PENDING, evaluate_pending, evaluation_batches
from server.ledger.locks import evaluation_lock
from server.ledger.models import SalesEvent
from server.queues import redis_connection
from tests.faults.helpers import simulate
from tests.integration.ledger.helpers import EXAMPLES, exported, load_example, post

BASIC = EXAMPLES / "basic"
pytestmark = pytest.mark.skipif(not BASIC.is_dir(), reason=f"no spec examples at {EXAMPLES}")

#: attribution of the example's active partners (WEB-2 is onboarding: its sales reject)
CODES = [
    {"promo_code": "AMB1", "channel": "online"},
    {"qr_token": "qr-shop-1", "channel": "offline"},
    {"referral": "web1", "channel": "online"},
    {"referral": "web2", "channel": "online"},
]


def _dependent_events(count: int, seed: int) -> list[dict[str, Any]]:
    """Sales from four customers (first purchases, then repeats), a refund right after
    some sales, a large sale now and then (held): each event leans on the one before."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    sales: list[tuple[str, int]] = []
    for index in range(count):
        at = f"2026-03-{1 + index // 24:02d}T{index % 24:02d}:00:00+03:00"
        if sales and rng.random() < 0.25:
            sale, amount = sales.pop()
            events.append(
                {
                    "id": f"r{index}",
                    "type": "refund",
                    "occurred_at": at,
                    "refers_to": sale,
                    "amount": str(rng.randint(1, amount)),
                    "currency": "RUB",
                }
            )
            continue
        amount = rng.choice([700, 2500, 9000, 150000])
        events.append(
            {
                "id": f"s{index}",
                "type": "sale",
                "occurred_at": at,
                "amount": str(amount),
                "currency": "RUB",
                "customer": f"c{rng.randint(1, 4)}",
                **rng.choice(CODES),
            }
        )
        sales.append((f"s{index}", amount))
    return events


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The basic example's partners and program with 60 dependent events."""
    for name in ("partners.yaml", "program.yaml"):
        shutil.copy(BASIC / name, tmp_path / name)
    events = _dependent_events(60, seed=11)
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    return tmp_path


def _store(app: Flask, client: FlaskClient, folder: Path) -> None:
    key = load_example(app, folder)
    lines = (folder / "events.jsonl").read_text().splitlines()
    answer = post(client, key, "[" + ",".join(lines) + "]")
    assert answer.status_code == 200 and answer.get_json()["accepted"] == len(lines)
    redis_connection(app).flushdb()  # the job intake queued: these tests evaluate inline


def _pending() -> int:
    count = db.session.scalar(sa.select(sa.func.count(SalesEvent.id)).where(PENDING)) or 0
    db.session.rollback()
    return count


@pytest.mark.parametrize("batch_size", [1, 2, 7])
def test_batches_in_a_row_equal_simulate(
    app: Flask, client: FlaskClient, example: Path, batch_size: int
) -> None:
    _store(app, client, example)
    with app.app_context():
        reports = list(evaluation_batches(batch_size))
        assert _pending() == 0
    assert sum(r.events for r in reports) == 60
    assert all(r.events <= batch_size for r in reports)
    assert exported(app) == simulate(example)


def test_a_failed_write_drops_the_batch_evaluated_meanwhile_and_loses_nothing(
    app: Flask, client: FlaskClient, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _store(app, client, example)
    real_write = evaluation._write
    calls = 0

    def failing_second_write(session: Any, batch: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            session.rollback()
            raise RuntimeError("disk full")
        return real_write(session, batch)

    monkeypatch.setattr(evaluation, "_write", failing_second_write)
    with app.app_context():
        with pytest.raises(RuntimeError, match="disk full"):
            for _report in evaluation_batches(5):
                pass
        # the first batch is committed; the second failed; the third, evaluated while
        # the second was being written, was never written
        assert _pending() == 60 - 5
        monkeypatch.setattr(evaluation, "_write", real_write)
        list(evaluation_batches(5))
        assert _pending() == 0
    assert calls == 2
    assert exported(app) == simulate(example)


def test_a_second_evaluator_waits_for_the_lock(
    app: Flask, client: FlaskClient, example: Path
) -> None:
    _store(app, client, example)
    held, release = threading.Event(), threading.Event()
    outcome: list[Any] = []

    def hold_the_lock() -> None:
        with app.app_context(), evaluation_lock():
            held.set()
            release.wait(30)

    def evaluate() -> None:
        with app.app_context():
            outcome.append(evaluate_pending(100))

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert held.wait(30)
    evaluator = threading.Thread(target=evaluate)
    evaluator.start()
    evaluator.join(1.0)
    try:
        assert evaluator.is_alive() and not outcome  # waiting, not evaluating
        with app.app_context():
            assert _pending() == 60
    finally:
        release.set()
        holder.join(30)
        evaluator.join(30)
    assert outcome and outcome[0].events == 60
    assert exported(app) == simulate(example)


def test_rows_carry_the_time_of_their_write_not_of_their_evaluation(
    app: Flask, client: FlaskClient, example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A period close takes the lock row and counts rows created before it as closed:
    # a batch evaluated before a close but written after it must not look closed.
    from datetime import UTC, datetime

    from server.ledger.models import Accrual

    _store(app, client, example)
    evaluated_at, written_at = (
        datetime(2026, 3, 31, 23, tzinfo=UTC),
        datetime(2026, 4, 1, 1, tzinfo=UTC),
    )
    clock = [evaluated_at]
    monkeypatch.setattr(evaluation, "utcnow", lambda: clock[0])
    with app.app_context():
        batch = evaluation._evaluate(db.session, 100)
        assert batch is not None
        clock[0] = written_at  # a close could have run in between
        evaluation._write(db.session, batch)
        created = set(db.session.scalars(sa.select(Accrual.created_at)))
        processed = set(db.session.scalars(sa.select(SalesEvent.processed_at)))
    assert created == processed == {written_at}
