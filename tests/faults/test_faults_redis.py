"""Redis goes away while events wait: nothing is lost, nothing is paid twice."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from server import embedded_redis
from server.queues import EXTENSION_KEY, get_queue
from server.tasks.events import sweep_pending
from tests.faults.helpers import BASIC, ON_EXAMPLES, post_basic, simulate
from tests.integration.ledger.helpers import exported, post, run_worker

pytestmark = ON_EXAMPLES


@pytest.fixture
def own_redis(app: Flask, tmp_path: Path) -> Iterator[tuple[Flask, Path]]:
    """The app on a Redis of its own (the session's Redis is shared by other tests)."""
    path = tmp_path / "redis.db"
    embedded_redis.ensure_running(path)
    app.config["REDIS_URL"] = embedded_redis.EmbeddedServer.at(path).url
    app.extensions[EXTENSION_KEY] = None
    yield app, path
    embedded_redis.stop(path)


def _restart(app: Flask, path: Path, *, keep_data: bool) -> None:
    """Stop the server (saving its append-only file, or wiping it), start it again."""
    old = redis.Redis.from_url(app.config["REDIS_URL"])
    if not keep_data:
        old.flushall()
    with contextlib.suppress(redis.ConnectionError):
        old.shutdown(save=True)
    embedded_redis.ensure_running(path)
    app.extensions[EXTENSION_KEY] = None


def test_queued_evaluation_survives_a_redis_restart(own_redis: tuple[Flask, Path]) -> None:
    app, path = own_redis
    assert post_basic(app).get_json()["accepted"] == 12
    with app.app_context():
        assert get_queue("events").count == 1
    _restart(app, path, keep_data=True)
    with app.app_context():
        assert get_queue("events").count == 1  # append-only persistence kept the job
    run_worker(app)
    assert exported(app) == simulate(BASIC)


def test_a_wiped_redis_loses_only_time(own_redis: tuple[Flask, Path]) -> None:
    app, path = own_redis
    post_basic(app)
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


@pytest.fixture
def dead_redis(app: Flask, tmp_path: Path) -> Flask:
    """The app pointed at a Redis that is not there (a socket nobody listens on)."""
    app.config["REDIS_URL"] = f"unix://{tmp_path / 'gone.sock'}"
    app.extensions[EXTENSION_KEY] = None
    return app


def test_intake_commits_and_answers_while_redis_is_down(dead_redis: Flask, redis_url: str) -> None:
    app = dead_redis
    answer = post_basic(app)
    assert answer.status_code == 200  # the rate limit fails open, queueing is skipped
    body = answer.get_json()
    assert body["accepted"] == 12
    assert [r["status"] for r in body["results"]] == ["accepted"] * 12
    health = app.test_client().get("/health")
    assert health.status_code == 503 and health.get_json()["redis"]["ok"] is False
    app.config["PENDING_TIMEOUT_SECONDS"] = 0
    with app.app_context():
        assert sweep_pending() == 12  # counted; nothing to queue on yet, nothing raised

    app.config["REDIS_URL"] = redis_url  # Redis is back: the next sweep queues
    app.extensions[EXTENSION_KEY] = None
    with app.app_context():
        assert sweep_pending() == 12
    run_worker(app)
    assert exported(app) == simulate(BASIC)


def test_an_api_failure_answers_json(app: Flask, tmp_path: Path) -> None:
    from server.app import create_app

    # A database without the schema: every query fails, as with a database gone away.
    broken = create_app(
        {**app.config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}"}
    )
    broken.config["PROPAGATE_EXCEPTIONS"] = False
    answer = post(broken.test_client(), "any-key", "[]")
    assert answer.status_code == 500
    assert answer.is_json and answer.get_json()["error"]


def test_login_limit_keeps_limiting_in_memory_when_its_redis_is_down(
    migrated_database: dict[str, object], tmp_path: Path
) -> None:
    from server.app import create_app

    config = dict(migrated_database["config"])  # type: ignore[call-overload]
    # a Redis server that is not there: the login throttle cannot count in it
    config.update(REDIS_URL=f"unix://{tmp_path / 'gone.sock'}")
    client = create_app(config).test_client()
    codes = [
        client.post("/login/", data={"username": "nobody", "password": "wrong"}).status_code
        for _ in range(7)
    ]
    assert 500 not in codes, codes
    assert 429 in codes[5:], codes  # fails closed for guessers, open for everyone else
