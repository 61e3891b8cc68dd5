"""``make test-clock-ahead``: every Python process of the suite sees the wall clock
``PARTNERFLOW_CLOCK_AHEAD_DAYS`` days ahead.

The Makefile puts this folder on ``PYTHONPATH``, so Python imports this module at the
start of pytest, of its xdist workers and of every process the tests start (gunicorn,
rq workers, ``partnerflow`` commands). ``time.time``, ``datetime.now`` and their kin
move; the monotonic clocks that timeouts use do not. Tests under the suite's own clock
(``tests/support/clock.py``) travel from here to their fixed day as usual; the rest
(``real_clock`` tests, their subprocesses, session set-up) run a year ahead.

Debian's libfaketime 0.9.10 cannot do this for Python 3.11 (measured): faking the
monotonic clock too makes every timed wait (``Event.wait``, ``Lock.acquire(timeout=)``)
wait a year, and leaving it alone makes every ``time.sleep`` fail with ``EINVAL``.
PostgreSQL and Redis keep the machine's clock: the product reads the date from Python
only (no ``now()`` in SQL).
"""

import os

_DAYS = os.environ.get("PARTNERFLOW_CLOCK_AHEAD_DAYS")
if _DAYS:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=int(_DAYS)), tick=True).start()
