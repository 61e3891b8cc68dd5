"""Ledger fixtures: fuzz runs counted against their budgets (tests/support/fuzz_budget.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from tests.support.fuzz_budget import FuzzRun, session_report, start_run


@pytest.fixture
def fuzz_run(app: Flask) -> Callable[[str, str], FuzzRun]:
    """Start counting a fuzz test's inputs: ``fuzz_run(budget name, surface)``."""

    def start(name: str, surface: str) -> FuzzRun:
        return start_run(name, surface, app.config["DB_BACKEND"])

    return start


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _, short = session_report()
    if short and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines, short = session_report()
    for line in lines:
        terminalreporter.write_line(line)
    if short:
        terminalreporter.write_line("fuzzing: FAILED, fewer inputs than promised", red=True)
