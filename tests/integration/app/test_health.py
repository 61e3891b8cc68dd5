"""/health reports the database, Redis and the workers."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_health_reports_database_and_redis(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    report = response.get_json()
    assert report["status"] == "ok"
    assert report["database"]["ok"] is True
    assert report["redis"]["ok"] is True
    assert report["workers"]["count"] == 0
    assert report["workers"]["ok"] is False


def test_health_sees_a_registered_worker(client: FlaskClient, app) -> None:  # type: ignore[no-untyped-def]
    from rq import Worker

    from server.queues import get_queue, redis_connection

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


def test_health_is_503_when_redis_is_unreachable(app) -> None:  # type: ignore[no-untyped-def]
    import redis

    from server.queues import EXTENSION_KEY

    app.extensions[EXTENSION_KEY] = redis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.2
    )
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.get_json()["redis"]["ok"] is False
