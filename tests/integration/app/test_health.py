"""/health reports the database, Redis and the workers."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import Worker
from rq.job import Job, JobStatus

from server.queues import get_queue, redis_connection
from tests.support.processes import wait_for

#: the product's worker class (its exit does not wait on rq's 60-second channel read)
WORKER_CLASS = "server.tasks.worker.Worker"


def test_health_reports_database_and_redis(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    report = response.get_json()
    assert report["status"] == "ok"
    assert report["database"]["ok"] is True
    assert report["redis"]["ok"] is True
    assert report["workers"]["count"] == 0
    assert report["workers"]["ok"] is False


def test_health_sees_a_registered_worker(client: FlaskClient, app: Flask) -> None:
    worker = Worker([get_queue("default", app)], connection=redis_connection(app))
    worker.register_birth()
    worker.heartbeat()
    try:
        report = client.get("/health").get_json()
        names = [w["name"] for w in report["workers"]["workers"]]
        assert worker.name in names
        assert report["workers"]["ok"] is True
    finally:
        worker.register_death()


def test_health_is_503_when_redis_is_unreachable(app: Flask) -> None:
    import redis

    from server.queues import EXTENSION_KEY

    app.extensions[EXTENSION_KEY] = redis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.2
    )
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["redis"]["ok"] is False


# the worker is a subprocess: its job's start time is the machine's, so /health must
# compare it with the machine's clock too
@pytest.mark.real_clock
def test_health_names_a_worker_stuck_on_one_job(
    client: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    # A queue of the test's own: the session's Redis is shared by every test in this
    # process, and a job another test left on "default" kept the burst worker busy
    # past its wait in a loaded run. A queue with no expected time of its own falls
    # back to the "default" figure, 1 s here.
    queue_name = f"health-probe-{uuid.uuid4().hex[:8]}"
    app.config["WORKER_JOB_EXPECTED_SECONDS"] = {"documents": 60, "default": 1}
    get_queue(queue_name, app).enqueue(time.sleep, 8, job_id="slow-job", job_timeout=60)
    rq_cli = str(Path(sys.executable).parent / "rq")
    worker_log = tmp_path / "worker.log"
    with worker_log.open("wb") as log:
        worker = subprocess.Popen(  # a real rq worker (forking a work horse), in burst mode
            [
                rq_cli,
                "worker",
                "--burst",
                "--worker-class",
                WORKER_CLASS,
                "--url",
                app.config["REDIS_URL"],
                queue_name,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline, report = time.monotonic() + 30, {}
        while time.monotonic() < deadline:
            report = client.get("/health").get_json()
            if report["workers"]["stuck"]:
                break
            time.sleep(0.3)
        assert report["status"] == "degraded"
        assert report["workers"]["ok"] is False
        (busy,) = report["workers"]["workers"]
        assert report["workers"]["stuck"] == [busy["name"]]
        job = busy["current_job"]
        assert (job["id"], job["queue"], job["expected_seconds"]) == ("slow-job", queue_name, 1)
        # stuck as soon as it ran past 1 s; the figure shown is rounded to a tenth
        assert job["stuck"] is True and job["running_seconds"] >= 1
    finally:
        _wait_for_sign_off(worker, worker_log, app)
    finished = Job.fetch("slow-job", connection=redis_connection(app)).get_status()
    assert finished == JobStatus.FINISHED, worker_log.read_text()[-3000:]
    after = client.get("/health").get_json()
    assert after["status"] == "ok" and after["workers"]["stuck"] == []


def _wait_for_sign_off(worker: subprocess.Popen[bytes], log: Path, app: Flask) -> None:
    """Wait until the burst worker has signed off in Redis, then for its exit.

    Two waits, so that a failure says which went wrong: the job or the sign-off (the
    worker still registered after a minute), or the exit after it. rq's own worker
    class could take a minute more to exit in a loaded run (its command-channel reader
    is stopped by waiting out a 60-second read); the product's class reads in one-second
    slices, so a few seconds are plenty.
    """

    def signed_off() -> bool:
        if worker.poll() is not None:
            return True
        registered = Worker.all(connection=redis_connection(app))
        return not any(w.pid == worker.pid for w in registered)

    try:
        wait_for(signed_off, 60, "the burst worker to finish its job and sign off")
        worker.wait(timeout=20)
    except (AssertionError, subprocess.TimeoutExpired) as failure:
        pytest.fail(f"{failure}:\n{log.read_text()[-3000:]}")
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
