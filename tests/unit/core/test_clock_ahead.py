"""`make test-clock-ahead` moves the wall clock of every Python process it starts, and
leaves timed waits working (what libfaketime could not do here)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

FOLDER = Path(__file__).parents[2] / "support" / "clock_ahead"
PROBE = """
import threading, time
from datetime import UTC, datetime
started = time.monotonic()
time.sleep(0.05)
threading.Event().wait(0.05)
print(datetime.now(UTC).isoformat(), round(time.monotonic() - started, 1))
"""


def _probe(**setting: str) -> tuple[datetime, float]:
    """(the wall clock, seconds two 0.05 s waits took) in a new Python process with only
    ``setting`` of the clock-ahead variables (the suite may run under them itself)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PARTNERFLOW_CLOCK_AHEAD_DAYS", "PYTHONPATH")
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**env, **setting},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    return datetime.fromisoformat(out[0]), float(out[1])


@pytest.mark.real_clock
def test_a_process_started_with_the_setting_runs_a_year_ahead_and_still_waits() -> None:
    machine, _ = _probe()
    ahead, waited = _probe(PARTNERFLOW_CLOCK_AHEAD_DAYS="365", PYTHONPATH=str(FOLDER))
    assert 364 <= (ahead - machine).days <= 365, ahead - machine
    assert waited < 5  # the waits took their time, not a year
