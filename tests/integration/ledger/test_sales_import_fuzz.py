"""Fuzzing the CSV import: any file gets a clear refusal or a full row-by-row report."""

from __future__ import annotations

import csv
import io

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.errors import CommandError
from server.extensions import db
from server.ledger.imports import import_sales

HEADERS = [
    "Магазин",
    "Номер чека",
    "Дата",
    "Время",
    "Сумма",
    "Карта покупателя",
    "Заказ",
    "Тип",
    "Возврат к чеку",
    "store",
    "receipt",
    "amount",
    "date",
    "junk",
    "",
]
cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "SHOP-1",
            "qr-shop-1",
            "1 000,50",
            "-5",
            "abc",
            "31.02.2026",
            "02.03.2026 10:00",
            "2026-03-02T10:00:00+03:00",
            "возврат",
            "1e9",
            "\x00",
            '"',
            ";",
            "0",
            "NaN",
        ]
    ),
    st.text(min_size=190, max_size=260),
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8))
    if draw(st.booleans()):  # half the files map every required field, reaching the rows
        header = ["Магазин", "Номер чека", "Дата", "Сумма", *header]
    rows = draw(st.lists(st.lists(cells, min_size=0, max_size=len(header) + 2), max_size=12))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=draw(st.sampled_from([";", ",", "\t"])))
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]))
    return out.getvalue().encode(encoding, errors="replace")


reached: set[str] = set()


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=csv_files() | st.binary(max_size=400))
def test_any_file_is_refused_clearly_or_reported_row_by_row(app: Flask, data: bytes) -> None:
    with app.app_context():
        try:
            report = import_sales(data, source="fuzz", filename="f.csv", currency="RUB")
        except CommandError as error:
            db.session.rollback()
            assert str(error)
            return
        accounted = report.accepted + report.duplicates + report.merged + report.rejected
        assert accounted == report.rows_total
        assert len(report.errors) == report.rejected
        for error in report.errors:
            assert error.line >= 2 and error.reason
        if report.rows_total:
            reached.add("rows")


def test_the_fuzzer_reached_the_row_checks() -> None:
    """Guard against a vacuous fuzz run: some generated files got past the header."""
    assert "rows" in reached
