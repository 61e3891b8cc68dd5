"""Offline sales import from CSV: row errors, re-imports, online/POS merges, CLI and UI."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.ledger.imports import import_sales
from server.ledger.models import Accrual, EventStatus, SalesEvent
from server.security.roles import Role
from server.tasks.events import request_evaluation
from tests.integration.ledger.helpers import EXAMPLES, cli, load_example, post, run_worker
from tests.support.web import login

pytestmark = pytest.mark.spec_examples
BASIC = EXAMPLES / "basic"

POS_EXPORT = """Магазин;Номер чека;Дата;Время;Сумма;Карта покупателя;Заказ
SHOP-1;1001;02.03.2026;10:00;9 000,00;k2;
SHOP-1;1002;03.03.2026;11:30;abc;k3;
SHOP-1;;03.03.2026;12:00;100,00;k4;
SHOP-1;1003;31.02.2026;12:00;100,00;k4;
qr-shop-1;1004;04.03.2026;09:15;2500,50;k3;ord-77
SHOP-1;1005;05.03.2026;18:00;1 200,00;;
"""


def _cp1251(text: str) -> bytes:
    return text.encode("cp1251")


def test_pos_export_in_cp1251_goes_in_row_by_row(app: Flask) -> None:
    load_example(app, BASIC)
    with app.app_context():
        report = import_sales(
            _cp1251(POS_EXPORT), source="pos-msk", filename="pos.csv", currency="RUB"
        )
        assert (report.rows_total, report.accepted, report.rejected) == (6, 3, 3)
        errors = [(e.line, e.column, e.reason) for e in report.errors]
        assert errors == [
            (3, "Сумма", "invalid amount"),
            (4, "Номер чека", "missing field: receipt"),
            (5, "Дата", "invalid occurred_at"),
        ]
        stored = db.session.scalar(
            sa.select(SalesEvent).where(SalesEvent.external_id == "SHOP-1-1001")
        )
        assert stored is not None
        assert stored.payload["occurred_at"] == "2026-03-02T10:00:00+03:00"
        assert stored.payload["amount"] == "9000.00"
        assert stored.payload["channel"] == "offline"
        request_evaluation()
    run_worker(app)
    with app.app_context():
        processed = db.session.scalars(
            sa.select(SalesEvent.external_id).where(SalesEvent.status == EventStatus.processed)
        ).all()
        assert sorted(processed) == ["SHOP-1-1001", "SHOP-1-1005", "qr-shop-1-1004"]
        tiers = db.session.scalars(
            sa.select(Accrual.amount)
            .where(Accrual.rule_key == "offline-tiers")
            .order_by(Accrual.occurred_at)
        ).all()
        assert [str(t) for t in tiers] == ["270.00", "150.03", "72.00"]


def test_a_reimported_file_pays_nothing_twice(app: Flask) -> None:
    load_example(app, BASIC)
    with app.app_context():
        import_sales(_cp1251(POS_EXPORT), source="pos-msk", filename="pos.csv", currency="RUB")
        request_evaluation()
    run_worker(app)
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(Accrual.id)))
        again = import_sales(
            _cp1251(POS_EXPORT), source="pos-msk", filename="pos.csv", currency="RUB"
        )
        assert (again.accepted, again.duplicates, again.rejected) == (0, 3, 3)
    run_worker(app)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == before


def test_a_sale_reported_online_and_by_the_pos_is_one_sale(app: Flask) -> None:
    key = load_example(app, BASIC)
    online = {
        "id": "web-ord-77",
        "type": "sale",
        "occurred_at": "2026-03-04T09:00:00+03:00",
        "qr_token": "qr-shop-1",
        "channel": "offline",
        "amount": "2500.50",
        "customer": "k3",
        "order_id": "ord-77",
    }
    assert post(app.test_client(), key, json.dumps([online])).get_json()["accepted"] == 1
    with app.app_context():
        report = import_sales(
            _cp1251(POS_EXPORT), source="pos-msk", filename="pos.csv", currency="RUB"
        )
        assert report.merged == 1
        assert report.merges[0]["id"] == "qr-shop-1-1004"
        assert "shop/web-ord-77" in report.merges[0]["merged_into"]
        request_evaluation()
    run_worker(app)
    with app.app_context():
        merged = db.session.scalar(
            sa.select(SalesEvent).where(SalesEvent.external_id == "qr-shop-1-1004")
        )
        assert merged is not None and merged.status is EventStatus.merged
        assert merged.merged_into_id is not None and not merged.accruals
        first = db.session.get(SalesEvent, merged.merged_into_id)
        assert first is not None and first.external_id == "web-ord-77" and first.accruals


def test_import_sales_command_line(app: Flask, tmp_path: Path) -> None:
    load_example(app, BASIC)
    export = tmp_path / "pos.csv"
    export.write_bytes(_cp1251(POS_EXPORT))
    errors = tmp_path / "errors.csv"
    result = cli(
        app, tmp_path, "import-sales", str(export), "--source", "pos-msk", "--errors", str(errors)
    )
    assert result.returncode == 0, result.stderr
    assert (
        "6 rows: 3 accepted, 0 already imported, 0 merged with online orders, 3 rejected"
        in result.stdout
    )
    assert "line 3, column 'Сумма': invalid amount" in result.stderr
    rows = list(csv.reader(io.StringIO(errors.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0] == ["line", "column", "value", "reason"]
    assert rows[1] == ["3", "Сумма", "abc", "invalid amount"]


def _upload(client: FlaskClient, data: bytes, filename: str = "pos.csv", **kwargs: Any) -> Any:
    """Upload a file of the POS source on the import screen."""
    return client.post(
        "/imports/upload",
        data={"source": "pos-msk", "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        **kwargs,
    )


def test_manager_imports_through_the_browser(app: Flask) -> None:
    load_example(app, BASIC)
    client = login(app, Role.MANAGER)
    assert client.get("/imports/").status_code == 200
    page = _upload(client, _cp1251(POS_EXPORT))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="Сумма" selected' in html
    # the fields by what they mean (they were bare keys: "receipt *"), no key beside them
    assert "номер чека *</td>" in html and ">receipt<" not in html
    assert 'id="ignored-columns" hidden' in html  # every column has a field
    # the first rows as the file has them, a cell per column (it showed the line number
    # and the row as a Python list)
    preview = html.split("<tbody>")[-1].split("</tbody>")[0]
    first_rows = [re.findall(r"<td>(.*?)</td>", row) for row in preview.split("</tr>")[:2]]
    assert first_rows == [line.split(";") for line in POS_EXPORT.splitlines()[1:3]]
    token = html.split("/imports/run/")[1].split('"')[0]
    form = {
        "source": "pos-msk",
        "filename": "pos.csv",
        "timezone": "Europe/Moscow",
        "map_receipt": "Номер чека",
        "map_store": "Магазин",
        "map_occurred_at": "Дата",
        "map_time": "Время",
        "map_amount": "Сумма",
        "map_customer": "Карта покупателя",
        "map_order_id": "Заказ",
    }
    done = client.post(f"/imports/run/{token}", data=form, follow_redirects=True)
    body = done.get_data(as_text=True)
    summary = body.split('id="summary">')[1].split("</p>")[0]
    assert re.findall(r"\d+", summary) == ["6", "3", "0", "0", "3"]
    assert "Строк: 6; принято: 3" in body  # the flashed summary, in the user's language
    # the reason in the user's language on the page and in the downloaded report (the
    # command line's report keeps the contract's phrase)
    assert "неверная сумма" in body and "invalid amount" not in body
    errors_link = body.split("/errors.csv")[0].rsplit('href="', 1)[1] + "/errors.csv"
    report = client.get(errors_link)
    text = report.get_data(as_text=True)
    assert report.status_code == 200 and "неверная сумма" in text and "invalid amount" not in text
    assert text.lstrip("\ufeff").splitlines()[0] == "Строка;Столбец;Значение;Причина"
    empty = _upload(client, b"", "empty.csv", follow_redirects=True)
    assert "Файл пуст: нужны строка заголовков и строки данных." in empty.text
    anonymous = app.test_client()
    assert anonymous.get("/imports/").status_code in (302, 401, 403)


def test_columns_no_field_takes_are_named_before_the_import(app: Flask) -> None:
    # Regression: a column the mapping did not know («Код партнёра») was silently dropped
    load_example(app, BASIC)
    client = login(app, Role.MANAGER)
    lines = POS_EXPORT.splitlines()
    extra = "\n".join([lines[0] + ";Код партнёра", *(line + ";P-1" for line in lines[1:])])
    page = _upload(client, _cp1251(extra + "\n")).get_data(as_text=True)
    notice = page.split('id="ignored-columns"')[1].split("</div>")[0]
    assert not notice.startswith(" hidden")
    assert "Столбцы, которые не будут загружены:" in notice
    assert '<b id="ignored-list">Код партнёра</b>' in notice


def test_the_error_report_never_hands_a_formula_to_a_spreadsheet() -> None:
    from server.ledger.imports import error_report_csv

    text = error_report_csv(
        [
            {"line": 3, "column": "Сумма", "value": '=HYPERLINK("x")', "reason": "invalid amount"},
            # the column is the uploaded file's header text
            {"line": 4, "column": "=cmd|'/C calc'!A0", "value": "1", "reason": "+bad"},
        ]
    )
    assert text.startswith("\ufeff")
    assert text.splitlines()[1] == '3;Сумма;"\'=HYPERLINK(""x"")";invalid amount'
    assert text.splitlines()[2] == "4;'=cmd|'/C calc'!A0;1;'+bad"
