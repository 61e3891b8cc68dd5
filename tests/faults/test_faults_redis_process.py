"""The embedded Redis killed or abandoned under real processes (gunicorn, worker, sweeper).

Durable first: the database commit never depends on Redis. Intake goes on while Redis
is down, every process reconnects by itself once it is back, one server serves an
instance folder however many processes start at once, and a server nobody uses any
more exits instead of piling up.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.ledger.models import SalesEvent
from tests.faults.helpers import BASIC, ON_EXAMPLES, ledger_is_simulated
from tests.integration.ledger.helpers import event_lines, load_example
from tests.support.processes import (
    BIN,
    Deployment,
    deployment,
    free_port,
    http,
    redis_servers_in,
    wait_for,
)

pytestmark = ON_EXAMPLES
#: the embedded server's idle time in these tests (the default is 30 s)
IDLE_SECONDS = 2


@pytest.fixture
def on_app_database(app: Flask, tmp_path: Path) -> Iterator[Deployment]:
    """Processes on the test's database, with an embedded Redis of their own."""
    with deployment(
        tmp_path,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        EMBEDDED_REDIS_IDLE_SECONDS=str(IDLE_SECONDS),
        PENDING_TIMEOUT_SECONDS="0",
    ) as running:
        yield running


def _stored(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(SalesEvent.id))) or 0
        db.session.rollback()
        return int(count)


def _post(base: str, key: str, lines: list[str]) -> dict:
    answer = http(
        f"{base}/api/v1/events",
        ("[" + ",".join(lines) + "]").encode(),
        {"X-API-Key": key, "Content-Type": "application/json"},
    )
    assert answer.status == 200, (answer.status, answer.body[:300])
    assert answer.content_type.startswith("application/json")
    return answer.json()


def test_intake_goes_on_while_redis_is_dead_and_everything_reconnects(
    app: Flask, on_app_database: Deployment
) -> None:
    key = load_example(app, BASIC)
    lines = event_lines(BASIC)  # in time order, so evaluating batch by batch is simulate's
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run = on_app_database.start(
        str(BIN / "partnerflow"), "run", "--no-demo", "--port", str(port), "--web-workers", "2"
    )
    wait_for(lambda: http(f"{base}/health").status == 200, 90, "partnerflow run to answer")
    assert _post(base, key, lines[:4])["accepted"] == 4

    (server,) = redis_servers_in(on_app_database.instance)
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    answer = _post(base, key, lines[4:8])  # Redis is dead (or being started again)
    assert answer["accepted"] == 4
    assert [r["status"] for r in answer["results"]] == ["accepted"] * 4
    assert _stored(app) == 8

    wait_for(lambda: http(f"{base}/health").status == 200, 10, "/health to see Redis again")
    assert _post(base, key, lines[8:])["accepted"] == len(lines) - 8
    assert run.poll() is None
    assert len(redis_servers_in(on_app_database.instance)) == 1
    # The worker reconnected; what was not queued while Redis was dead, the sweeper
    # (PENDING_TIMEOUT_SECONDS=0 here) finds again in the database.
    wait_for(lambda: ledger_is_simulated(app), 90, "every event to be evaluated")


def test_worker_and_sweeper_started_together_share_one_redis(
    app: Flask, on_app_database: Deployment
) -> None:
    key = load_example(app, BASIC)
    client = app.test_client()
    answer = client.post(
        "/api/v1/events",
        data="[" + ",".join(event_lines(BASIC)) + "]",
        headers={"X-API-Key": key, "Content-Type": "application/json"},
    )
    assert answer.get_json()["accepted"] == 12  # queued on the session's Redis, not ours

    # A crash first: a server killed, its files left behind.
    first = on_app_database.start(str(BIN / "partnerflow"), "sweeper", "--interval", "600")
    (server,) = wait_for(lambda: redis_servers_in(on_app_database.instance), 30, "a Redis")
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    on_app_database.start(str(BIN / "partnerflow"), "worker")
    on_app_database.start(str(BIN / "partnerflow"), "sweeper", "--interval", "1")
    wait_for(lambda: ledger_is_simulated(app), 90, "the sweeper's job to be worked")
    assert len(redis_servers_in(on_app_database.instance)) == 1


#: a process that builds the app, waits for the word to go, uses Redis, and holds on
_JOINER = """
import sys, time
from pathlib import Path
from server.app import create_app
from server.queues import redis_connection
folder, name = Path(sys.argv[1]), sys.argv[2]
app = create_app()
(folder / f"ready-{name}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
redis_connection(app).ping()
(folder / f"pinged-{name}").touch()
while not (folder / "done").exists():
    time.sleep(0.05)
"""


def test_processes_that_start_at_once_share_one_redis(tmp_path: Path) -> None:
    signals = tmp_path / "signals"
    signals.mkdir()
    count = 6
    with deployment(tmp_path, EMBEDDED_REDIS_IDLE_SECONDS=str(IDLE_SECONDS)) as running:
        joiners = [
            running.start(str(BIN / "python"), "-c", _JOINER, str(signals), str(n))
            for n in range(count)
        ]
        wait_for(lambda: len(list(signals.glob("ready-*"))) == count, 120, "every app built")
        (signals / "go").touch()
        wait_for(lambda: len(list(signals.glob("pinged-*"))) == count, 60, "every ping")
        assert len(redis_servers_in(running.instance)) == 1
        (signals / "done").touch()
        for joiner in joiners:
            assert joiner.wait(60) == 0, running.logs()


def test_an_embedded_redis_whose_clients_are_gone_exits(tmp_path: Path) -> None:
    with deployment(tmp_path, EMBEDDED_REDIS_IDLE_SECONDS=str(IDLE_SECONDS)) as running:
        port = free_port()
        gunicorn = running.start(
            str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"
        )
        url = f"http://127.0.0.1:{port}/health"
        wait_for(lambda: http(url).status == 200, 60, "gunicorn to answer")
        assert len(redis_servers_in(running.instance)) == 1
        os.killpg(gunicorn.pid, signal.SIGKILL)  # master and workers: no clean stop at all
        gunicorn.wait(30)
        wait_for(
            lambda: not redis_servers_in(running.instance),
            IDLE_SECONDS + 15,
            "the unused Redis to exit",
        )
        assert (running.instance / "appendonly.aof").exists()
