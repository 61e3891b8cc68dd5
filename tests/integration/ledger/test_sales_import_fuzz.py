"""Fuzzing the CSV import: any file gets a clear refusal or a full row-by-row report.

Inputs are counted against the budget (tests/support/fuzz_budget.py): a file refused as
a whole is one input, an imported file counts its distinct data rows.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable

from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from server.errors import CommandError
from server.extensions import db
from server.ledger.imports import ImportReport, import_sales
from tests.support.fuzz_budget import CSV_IMPORT, FuzzRun, canonical_text, fuzz_settings

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
#: rows that pass the row checks (a receipt from a small pool: re-imports, duplicates)
plausible_rows = st.tuples(
    st.sampled_from(["SHOP-1", "SHOP-2", "qr-shop-1"]),
    st.integers(min_value=1, max_value=10).map(str),
    st.dates().map(lambda day: day.strftime("%d.%m.%Y")),
    st.decimals(min_value="0.01", max_value="99999", places=2).map(
        lambda amount: str(amount).replace(".", ",")
    ),
).map(list)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A CSV file and the identities of its data rows (header and cells, as drawn)."""
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8))
    if draw(st.integers(min_value=0, max_value=3)):  # most files map every required field
        header = ["Магазин", "Номер чека", "Дата", "Сумма", *header]
    row = st.lists(cells, min_size=0, max_size=len(header) + 2) | plausible_rows
    # each row drawn independently; larger files of distinct rows (left alone, hypothesis
    # repeats list elements so often that most rows of a large file would be copies)
    if draw(st.integers(min_value=0, max_value=3)):  # hypothesis favours 0: small files
        rows = draw(st.lists(row, min_size=6, max_size=30, unique_by=tuple))
    else:
        rows = draw(st.lists(row, max_size=3))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=draw(st.sampled_from([";", ",", "\t"])))
    writer.writerow(header)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]))
    identities = [
        canonical_text([header, cells]) for cells in rows if any(c.strip() for c in cells)
    ]
    return out.getvalue().encode(encoding, errors="replace"), identities


files = st.sampled_from(
    [csv_files(), csv_files(), csv_files(), st.binary(max_size=400).map(lambda data: (data, []))]
).flatmap(lambda files: files)


def test_any_file_is_refused_clearly_or_reported_row_by_row(
    app: Flask, fuzz_run: Callable[[str, str], FuzzRun]
) -> None:
    run = fuzz_run("csv.files", CSV_IMPORT)
    fresh_sources = (f"fuzz-{n}" for n in itertools.count())
    reached: set[str] = set()

    def imported(data: bytes, source: str) -> ImportReport | None:
        with app.app_context():
            try:
                report = import_sales(data, source=source, filename="f.csv", currency="RUB")
            except CommandError as error:
                db.session.rollback()
                assert str(error).strip()
                return None
        accounted = report.accepted + report.duplicates + report.merged + report.rejected
        assert accounted == report.rows_total
        assert len(report.errors) == report.rejected
        for row_error in report.errors:
            assert row_error.line >= 2 and row_error.reason.strip()
        return report

    @fuzz_settings(run.name, run.backend)
    @given(file=files, shared_source=st.booleans(), twice=st.booleans())
    def fuzz(file: tuple[bytes, list[str]], shared_source: bool, twice: bool) -> None:
        data, rows = file
        # a shared source meets its saved column mapping; a fresh one has it guessed
        source = "fuzz" if shared_source else next(fresh_sources)
        report = imported(data, source)
        if report is None:
            run.count([data])
            reached.add("refused")
            return
        if twice:  # importing a file again changes nothing: its rows are duplicates now
            again = imported(data, source)
            assert again is not None and again.accepted == 0
            assert again.duplicates == report.accepted + report.duplicates + report.merged
            assert again.rejected == report.rejected
            reached.update(["duplicate"] if again.duplicates else [])
        # the rows the importer judged (a sniffed dialect may read fewer than were drawn)
        run.count(rows[: report.rows_total] if report.rows_total else [data])
        reached.update(
            name
            for name, count in [
                ("rows", report.rows_total),
                ("accepted", report.accepted),
                ("duplicate", report.duplicates),
                ("rejected", report.rejected),
            ]
            if count
        )

    fuzz()
    run.require_budget()
    # guard against a vacuous run: files got refused, and rows got every kind of answer in
    # the large SQLite run; the smaller PostgreSQL run must reach the main ones (hypothesis'
    # generation shifts with the constants of whatever modules the session imported)
    assert (
        {"refused", "rows", "accepted", "duplicate", "rejected"}
        if run.backend == "sqlite"
        else {"refused", "rows", "accepted", "rejected"}
    ) <= reached
