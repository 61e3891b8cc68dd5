"""The suite's own clock: every test runs on one fixed day, whatever day the suite runs.

The demo's history ends the day before it is loaded, and pages speak of "this month":
on the machine's clock such tests would pass in one month and fail in the next. The
autouse fixture in ``tests/conftest.py`` moves the clock of the test process to
:data:`SUITE_NOW` (it keeps ticking from there). Tests whose subprocesses read the
machine's clock (workers, the command line) are marked ``real_clock`` and use dates
that do not depend on the day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from server.demo.events import DemoWindow

#: noon in Moscow on the day the suite's demo is loaded
SUITE_NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
SUITE_TODAY: date = SUITE_NOW.date()
#: the demo history the suite works with: 2026-06-01 to 2026-11-20
SUITE_DEMO_WINDOW = DemoWindow.ending_before(SUITE_TODAY)
