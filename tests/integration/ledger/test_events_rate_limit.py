"""The events API's rate limit is a sliding window in Redis (issue #19: with one counter
per calendar minute, 130 batches passed in 4.9 s across a minute boundary)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from server.api.events import _rate_limited
from server.api.rate_limit import take_slot
from server.app import create_app
from server.queues import redis_connection

SECOND = 1_000_000


@pytest.fixture(scope="module")
def connection(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


@pytest.fixture
def limited_app(redis_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on the test Redis; the rate limit needs no database."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.db'}",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "REDIS_URL": redis_url,
            "SECRET_KEY": "test-only",
            "TESTING": True,
            "EVENTS_RATE_LIMIT_PER_MINUTE": 3,
        }
    )
    with app.app_context():
        yield app


def _redis_now(connection: redis.Redis) -> float:
    seconds, micros = connection.time()
    return seconds + micros / SECOND


def _sleep_until_second_of_minute(connection: redis.Redis, second: float) -> None:
    """Wait (by Redis' clock, which the limiter reads) until ``second`` of a minute."""
    now = _redis_now(connection)
    time.sleep((second - now % 60) % 60)


def test_a_burst_across_a_minute_boundary_is_limited(limited_app: Flask) -> None:
    connection = redis_connection(limited_app)
    key_id = uuid.uuid4().int % 10**9
    _sleep_until_second_of_minute(connection, 59.3)
    before = [_rate_limited(key_id) for _ in range(3)]
    _sleep_until_second_of_minute(connection, 0.2)
    after = _rate_limited(key_id)
    assert before == [None, None, None]
    # a fixed window let this one through: a new minute had begun
    assert after is not None and 58 <= after <= 60


def test_a_refused_client_that_waits_as_told_gets_in(connection: redis.Redis) -> None:
    name = f"test:rate:{uuid.uuid4().hex}"
    start = 1_800_000_000 * SECOND
    assert [take_slot(connection, name, 2, 60, now_us=start + i * SECOND) for i in (0, 10)] == [
        None,
        None,
    ]
    wait = take_slot(connection, name, 2, 60, now_us=start + 30 * SECOND)
    assert wait == 30.0  # the first batch leaves the window at start + 60 s
    assert take_slot(connection, name, 2, 60, now_us=start + 59 * SECOND) == 1.0
    assert take_slot(connection, name, 2, 60, now_us=start + 60 * SECOND) is None
    assert take_slot(connection, name, 2, 60, now_us=start + 61 * SECOND) == 9.0


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=5),
    gaps=st.lists(st.integers(min_value=0, max_value=40 * SECOND), min_size=1, max_size=40),
)
def test_no_60_seconds_ever_hold_more_than_the_limit(
    connection: redis.Redis, limit: int, gaps: list[int]
) -> None:
    """Against a plain model: allowed iff fewer than ``limit`` allowed in (t - 60 s, t]."""
    name = f"test:rate:{uuid.uuid4().hex}"
    now = 1_800_000_000 * SECOND
    allowed: list[int] = []
    for gap in gaps:
        now += gap
        recent = [t for t in allowed if t > now - 60 * SECOND]
        wait = take_slot(connection, name, limit, 60, now_us=now)
        if len(recent) < limit:
            assert wait is None
            allowed.append(now)
        else:
            assert wait is not None
            assert wait == (recent[-limit] + 60 * SECOND - now) / SECOND
