"""Ledger fixtures: fuzz runs counted against their budgets (tests/support/fuzz_budget.py;
the session's report is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.support.fuzz_budget import FuzzRun, start_run


@pytest.fixture
def fuzz_run(app: Flask) -> Callable[[str, str], FuzzRun]:
    """Start counting a fuzz test's inputs: ``fuzz_run(budget name, surface)``."""

    def start(name: str, surface: str) -> FuzzRun:
        return start_run(name, surface, app.config["DB_BACKEND"])

    return start
