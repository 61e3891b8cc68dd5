"""Redis goes away while events wait: nothing is lost, nothing is paid twice."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from server.queues import EXTENSION_KEY, get_queue, open_embedded_redis
from server.tasks.events import sweep_pending
from tests.faults.helpers import simulate
from tests.integration.ledger.helpers import (
    EXAMPLES,
    exported,
    load_example,
    post,
    raw_batch,
    run_worker,
)

pytestmark = pytest.mark.skipif(not EXAMPLES.is_dir(), reason=f"no spec examples at {EXAMPLES}")
BASIC = EXAMPLES / "basic"


@pytest.fixture
def own_redis(app: Flask, tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    """The app on a Redis of its own (the session's Redis is shared by other tests)."""
    path = tmp_path / "redis.db"
    connection = open_embedded_redis(str(path))
    app.config["REDIS_URL"] = f"unix://{connection.socket_file}"  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = None
    yield app, path
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(app.config["REDIS_URL"]).shutdown(nosave=True)


def _restart(app: Flask, path: Path, *, keep_data: bool) -> None:
    """Stop the server (saving its append-only file, or wiping it), start it again."""
    old = redis.Redis.from_url(app.config["REDIS_URL"])
    if not keep_data:
        old.flushall()
    with contextlib.suppress(redis.ConnectionError):
        old.shutdown(save=True)
    fresh = open_embedded_redis(str(path))
    app.config["REDIS_URL"] = f"unix://{fresh.socket_file}"  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = None


def test_queued_evaluation_survives_a_redis_restart(own_redis: tuple[Flask, Path]) -> None:
    app, path = own_redis
    key = load_example(app, BASIC)
    assert post(app.test_client(), key, raw_batch(BASIC)).get_json()["accepted"] == 12
    with app.app_context():
        assert get_queue("events").count == 1
    _restart(app, path, keep_data=True)
    with app.app_context():
        assert get_queue("events").count == 1  # append-only persistence kept the job
    run_worker(app)
    assert exported(app) == simulate(BASIC)


def test_a_wiped_redis_loses_only_time(own_redis: tuple[Flask, Path]) -> None:
    app, path = own_redis
    key = load_example(app, BASIC)
    post(app.test_client(), key, raw_batch(BASIC))
    _restart(app, path, keep_data=False)
    with app.app_context():
        assert get_queue("events").count == 0  # the job is gone with Redis' data
    run_worker(app)
    assert exported(app) == []  # nothing evaluated, nothing lost: events wait in the DB
    app.config["PENDING_TIMEOUT_SECONDS"] = 0
    with app.app_context():
        assert sweep_pending() == 12
    run_worker(app)
    assert exported(app) == simulate(BASIC)
    with app.app_context():
        assert sweep_pending() == 0
