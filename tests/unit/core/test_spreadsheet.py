"""Text handed to spreadsheet programs never starts a formula."""

from __future__ import annotations

import pytest

from server.spreadsheet import cell


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("A-AMB-01", "A-AMB-01"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_cell_never_starts_a_formula(value: object, shown: str) -> None:
    assert cell(value) == shown
