"""Typed values out of posted form text."""

from __future__ import annotations

from datetime import date

import pytest

from server.form_values import amount_text, form_date


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.50", "1234.50"),
        ("1 234,50", "1234.50"),
        ("30\u00a0000,5", "30000.5"),  # grouped as the pages print it
        ("30\u202f000,5", "30000.5"),  # narrow no-break space (Babel's Russian grouping)
        ("1 234,50 ₽", "1234.50"),
        ("1234 руб.", "1234"),
        ("1234 RUB", "1234"),
        ("1.000,50", "1.000,50"),  # ambiguous: left for the number reader to refuse
        ("1,2,3", "1,2,3"),
    ],
)
def test_an_amount_reads_as_people_type_it(text: str, expected: str) -> None:
    assert amount_text(text) == expected
