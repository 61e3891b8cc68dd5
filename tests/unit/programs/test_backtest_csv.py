"""The backtest's CSV download."""

from __future__ import annotations

import csv
import io

from server.programs.backtest import result_csv


def test_codes_never_run_as_formulas_and_numbers_stay_numbers() -> None:
    result = {
        "partners": [{"key": '=HYPERLINK("x")', "region": "+7", "delta": "-5.00"}],
        "regions": [{"key": "@MSK", "delta": "-5.00"}],
    }
    rows = list(csv.DictReader(io.StringIO(result_csv(result))))
    assert [(r["level"], r["key"], r["region"], r["delta"]) for r in rows] == [
        ("partner", '\'=HYPERLINK("x")', "'+7", "-5.00"),
        ("region", "'@MSK", "'@MSK", "-5.00"),
    ]
