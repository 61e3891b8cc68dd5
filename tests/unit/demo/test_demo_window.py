"""The demo's history follows the day it is loaded, so the demo never looks stale."""

from __future__ import annotations

from datetime import date

import pytest

from server.demo.data import demo_partners
from server.demo.events import DemoWindow, demo_events


@pytest.mark.parametrize(
    ("today", "first", "last", "campaign"),
    [
        (date(2026, 11, 21), date(2026, 6, 1), date(2026, 11, 20), ("2026-11-01", "2026-12-31")),
        (date(2026, 12, 6), date(2026, 7, 1), date(2026, 12, 5), ("2026-12-01", "2027-01-31")),
        (date(2027, 3, 1), date(2026, 10, 1), date(2027, 2, 28), ("2027-02-01", "2027-03-31")),
        (date(2027, 1, 15), date(2026, 8, 1), date(2027, 1, 14), ("2027-01-01", "2027-02-28")),
    ],
)
def test_the_window_ends_yesterday_and_starts_five_months_earlier(
    today: date, first: date, last: date, campaign: tuple[str, str]
) -> None:
    window = DemoWindow.ending_before(today)
    assert (window.first_day, window.last_day) == (first, last)
    assert tuple(day.isoformat() for day in window.campaign) == campaign


def test_events_fill_the_window_and_nothing_after_it() -> None:
    window = DemoWindow.ending_before(date(2027, 4, 10))
    days = {event["occurred_at"][:10] for event in demo_events(demo_partners(), window)}
    assert min(days) == "2026-11-01"
    assert max(days) == "2027-04-09"
    assert {day for day in days if day.startswith("2027-04")}, "this month has history"
