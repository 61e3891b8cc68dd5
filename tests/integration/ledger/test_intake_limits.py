"""What an outside probe sent through intake (issue #19): money beyond range, amounts
finer than a kopeck, blank ids, events from the far future, NaN. Each is refused with a
reason by the API and the CSV import alike, and none of them can fail a batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask

from server.cli.simulate import simulate
from server.extensions import db
from server.ledger.imports import import_sales
from server.ledger.models import Accrual, EventStatus, IntakeRejection, SalesEvent
from tests.integration.ledger.helpers import (
    EXAMPLES,
    exported,
    load_example,
    pending_events,
    post,
    run_worker,
)

pytestmark = pytest.mark.spec_examples  # under make test a missing examples folder fails
BASIC = EXAMPLES / "basic"
WHEN = "2026-03-02T10:00:00+03:00"
MOSCOW = ZoneInfo("Europe/Moscow")  # the import's default zone


def _sale(event_id: str, amount: str, customer: str) -> str:
    """A sale as JSON text with ``amount`` written as given (a bare number or "text")."""
    fields = {
        "id": event_id,
        "type": "sale",
        "occurred_at": WHEN,
        "promo_code": "AMB1",
        "channel": "online",
        "customer": customer,
    }
    return json.dumps(fields)[:-1] + f', "amount": {amount}}}'


#: the probe's amounts, as it wrote them, and the neighbours of the bound
REFUSED = [
    "9223372036854775807",
    '"92233720368547758.08"',
    "100000000000000000",
    '"1e30"',
    '"999999999999999999999999"',  # below parse_decimal's 10^24: it overflowed accruals
    '"1000000000000.00"',
    '"0.0000000001"',
    "0.001",
]
ACCEPTED = ['"999999999999.99"', "999999999999", '"4000"', "12.50"]


def _simulated(tmp_path: Path, lines: list[str]) -> list[dict[str, object]]:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    args = ["--program", str(BASIC / "program.yaml"), "--partners", str(BASIC / "partners.yaml")]
    result = CliRunner().invoke(simulate, [*args, "--events", str(events)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_money_beyond_range_is_refused_and_cannot_fail_a_batch(app: Flask, tmp_path: Path) -> None:
    key = load_example(app, BASIC)
    refused = [_sale(f"bad{i}", amount, f"b{i}") for i, amount in enumerate(REFUSED)]
    accepted = [_sale(f"ok{i}", amount, f"k{i}") for i, amount in enumerate(ACCEPTED)]
    answer = post(app.test_client(), key, "[" + ",".join(refused + accepted) + "]").get_json()
    assert [(r["id"], r["status"], r.get("reason")) for r in answer["results"]] == [
        *((f"bad{i}", "rejected", "invalid amount") for i in range(len(REFUSED))),
        *((f"ok{i}", "accepted", None) for i in range(len(ACCEPTED))),
    ]
    run_worker(app)
    with app.app_context():
        assert pending_events() == 0
        statuses = db.session.scalars(sa.select(SalesEvent.status)).all()
        assert statuses == [EventStatus.processed] * len(ACCEPTED)
        largest = db.session.scalar(
            sa.select(SalesEvent.amount).where(SalesEvent.external_id == "ok0")
        )
        assert largest == Decimal("999999999999.99")
        amounts = db.session.scalars(sa.select(Accrual.amount)).all()
        assert amounts and all(isinstance(a, Decimal) for a in amounts)
        assert Decimal("50000000000.00") in amounts  # 5 % of the largest sale, to the kopeck
        assert db.session.scalar(sa.select(sa.func.count(IntakeRejection.id))) == len(REFUSED)
    assert exported(app) == _simulated(tmp_path, refused + accepted)


def test_an_amount_finer_than_a_kopeck_earns_no_bonus(app: Flask) -> None:
    key = load_example(app, BASIC)
    dust = _sale("dust", '"0.0000000001"', "k1")
    answer = post(app.test_client(), key, f"[{dust}]")
    assert answer.get_json()["results"][0]["reason"] == "invalid amount"
    run_worker(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == 0


def _at(moment: datetime) -> dict[str, str]:
    return {
        "type": "sale",
        "occurred_at": moment.isoformat(),
        "promo_code": "AMB1",
        "channel": "online",
        "amount": "100",
    }


def test_blank_ids_and_events_from_the_future_are_refused(app: Flask) -> None:
    key = load_example(app, BASIC)
    now = datetime.now(UTC)
    batch = [
        {"id": " ", **_at(now)},
        {"id": "far", **_at(now)},
        {"id": "tomorrow", **_at(now + timedelta(hours=23))},
        {"id": "later", **_at(now + timedelta(hours=25))},
        {"id": "local", **_at((now + timedelta(hours=23)).astimezone(UTC))},
    ]
    batch[1]["occurred_at"] = "9999-12-31T23:59:59+14:00"
    answer = post(app.test_client(), key, json.dumps(batch)).get_json()
    assert [(r["id"], r["status"], r.get("reason")) for r in answer["results"]] == [
        (None, "rejected", "invalid id: blank"),
        ("far", "rejected", "invalid occurred_at: more than 24 hours ahead"),
        ("tomorrow", "accepted", None),
        ("later", "rejected", "invalid occurred_at: more than 24 hours ahead"),
        ("local", "accepted", None),
    ]
    # the limit is a deployment setting
    app.config["EVENTS_MAX_FUTURE_HOURS"] = 1
    again = [{"id": "soon", **_at(now + timedelta(minutes=50))}, {"id": "tomorrow2", **batch[2]}]
    again[1]["id"] = "tomorrow2"
    answer = post(app.test_client(), key, json.dumps(again)).get_json()
    assert [(r["status"], r.get("reason")) for r in answer["results"]] == [
        ("accepted", None),
        ("rejected", "invalid occurred_at: more than 1 hours ahead"),
    ]


def test_nan_and_infinity_are_not_json(app: Flask) -> None:
    key = load_example(app, BASIC)
    for constant in ("NaN", "Infinity", "-Infinity"):
        event = json.dumps({"id": f"n-{constant}", **_at(datetime(2026, 3, 2, tzinfo=UTC))})
        body = "[" + event[:-1] + f', "note": {constant}}}]'
        answer = post(app.test_client(), key, body)
        assert answer.status_code == 400, answer.get_data(as_text=True)
        assert f"{constant} is not a JSON value" in answer.get_json()["error"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SalesEvent.id))) == 0


def test_csv_rows_get_the_same_answers(app: Flask) -> None:
    load_example(app, BASIC)
    later = datetime.now(UTC).astimezone(MOSCOW).replace(microsecond=0) + timedelta(days=3)
    export = (
        "Магазин;Номер чека;Дата;Сумма\n"
        "SHOP-1;1;02.03.2026 10:00;1 000 000 000 000,00\n"
        "SHOP-1;2;02.03.2026 10:00;0,001\n"
        f"SHOP-1;3;{later:%d.%m.%Y %H:%M:%S};100,00\n"
        "SHOP-1;4;02.03.2026 10:00;999 999 999 999,99\n"
        "SHOP-1;5;02.03.2026 10:00;9223372036854775807\n"
    )
    with app.app_context():
        report = import_sales(export.encode(), source="pos-msk", filename="pos.csv", currency="RUB")
        assert [(e.line, e.column, e.value, e.reason) for e in report.errors] == [
            (2, "Сумма", "1000000000000.00", "invalid amount"),
            (3, "Сумма", "0.001", "invalid amount"),
            (4, "Дата", later.isoformat(), "invalid occurred_at: more than 24 hours ahead"),
            (6, "Сумма", "9223372036854775807", "invalid amount"),
        ]
        assert report.accepted == 1


POINTS_PROGRAM = """\
program: loyalty
currency: RUB
rules:
  - {id: points, template: points_per_amount, params: {per: "1", points: 1}}
"""


def test_points_for_the_largest_sale_fit_the_ledger(app: Flask, tmp_path: Path) -> None:
    """1 point per rouble of a 999,999,999,999.99 sale: 10^12 points, beyond a 32-bit
    column (PostgreSQL's INTEGER failed the whole evaluation batch)."""
    (tmp_path / "program.yaml").write_text(POINTS_PROGRAM)
    key = load_example(app, BASIC, program=tmp_path / "program.yaml")
    sales = [
        {"id": "huge", "type": "sale", "occurred_at": WHEN, "qr_token": "qr-shop-1",
         "channel": "offline", "amount": "999999999999.99"},
        {"id": "next", "type": "sale", "occurred_at": WHEN, "qr_token": "qr-shop-1",
         "channel": "offline", "amount": "10"},
    ]  # fmt: skip
    assert post(app.test_client(), key, json.dumps(sales)).get_json()["accepted"] == 2
    run_worker(app)
    with app.app_context():
        assert pending_events() == 0
        points = db.session.scalars(sa.select(Accrual.points).order_by(Accrual.id)).all()
        assert points == [999999999999, 10]
