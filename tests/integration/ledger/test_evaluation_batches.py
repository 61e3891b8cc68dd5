"""Evaluation batch after batch equals ``simulate`` when batches lean on each other.

The events here make consecutive batches depend on each other (a customer's second
purchase, a refund right after its sale, a month's goal counted across batches), so
the evaluation state each batch leaves in the database is what makes the next one
come out right.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.ledger.evaluation import evaluation_batches
from tests.faults.helpers import simulate
from tests.integration.ledger.helpers import EXAMPLES, exported, pending_events, store_example

BASIC = EXAMPLES / "basic"
pytestmark = pytest.mark.spec_examples

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


@pytest.mark.parametrize("batch_size", [1, 2, 7])
def test_batches_in_a_row_equal_simulate(
    app: Flask, client: FlaskClient, example: Path, batch_size: int
) -> None:
    store_example(app, client, example)
    with app.app_context():
        reports = list(evaluation_batches(batch_size))
        assert pending_events() == 0
    assert sum(r.events for r in reports) == 60
    assert all(r.events <= batch_size for r in reports)
    assert exported(app) == simulate(example)
