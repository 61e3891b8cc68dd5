"""Typed values out of posted form text."""

from __future__ import annotations

from datetime import date

import pytest

from server.form_values import form_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        (" 2026-03-01 ", date(2026, 3, 1)),
        ("", None),
        (None, None),
        ("01.03.2026", None),
        ("2026-02-30", None),
    ],
)
def test_a_date_field_reads_iso_dates_and_nothing_else(text: str | None, expected: object) -> None:
    assert form_date(text) == expected
