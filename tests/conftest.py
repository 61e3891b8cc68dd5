"""Fixtures: every test that asks for ``app`` runs twice, on SQLite and on PostgreSQL.

The PostgreSQL half uses a throwaway cluster started for the session (or
``PARTNERFLOW_TEST_POSTGRES_URL``). With ``PARTNERFLOW_REQUIRE_POSTGRES=1`` (set by
``make test``) a missing PostgreSQL fails the run instead of skipping its half.
Redis is real: an embedded server (``server.embedded_redis``) for the session.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from tests.support import fuzz_budget
from tests.support.clock import SUITE_NOW
from tests.support.postgres import PostgresUnavailable, TemporaryPostgres

REQUIRE_POSTGRES = os.environ.get("PARTNERFLOW_REQUIRE_POSTGRES") == "1"
#: with ``PARTNERFLOW_REQUIRE_EXAMPLES=1`` (set by ``make test``) a test marked
#: ``spec_examples`` fails, instead of skipping, when the spec's worked examples are missing
REQUIRE_EXAMPLES = os.environ.get("PARTNERFLOW_REQUIRE_EXAMPLES") == "1"
SHARED_DIR = Path(os.environ.get("PARTNERFLOW_SHARED", Path(__file__).parents[1] / ".." / "shared"))
SPEC_EXAMPLES = SHARED_DIR / "spec" / "examples"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("spec_examples") and not (SPEC_EXAMPLES / "basic").is_dir():
        message = f"the spec's worked examples are missing at {SPEC_EXAMPLES}"
        if REQUIRE_EXAMPLES:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # With pytest-xdist (``make test`` runs two workers) every fuzz test runs in one
    # worker, so "distinct inputs per surface for the session" keeps its meaning
    for item in items:
        if "fuzz_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("fuzz"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: its fuzz runs go to the controller
        workeroutput["fuzz_runs"] = fuzz_budget.export_runs()
        return
    _, short = fuzz_budget.session_report()
    if short and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist's controller: a worker finished; keep its fuzz runs for the report."""
    fuzz_budget.import_runs(getattr(node, "workeroutput", {}).get("fuzz_runs", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines, short = fuzz_budget.session_report()
    for line in lines:
        terminalreporter.write_line(line)
    if short:
        terminalreporter.write_line("fuzzing: FAILED, fewer inputs than promised", red=True)


@pytest.fixture(autouse=True)
def suite_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run the test on the suite's own day (:mod:`tests.support.clock`), clock ticking."""
    if request.node.get_closest_marker("real_clock"):
        yield
        return
    with time_machine.travel(SUITE_NOW, tick=True):
        yield


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
    """A real Redis server (the embedded one, in a folder of its own) for the session.

    It outlives an idle stretch of the session (an hour) but not a killed session.
    """
    from server import embedded_redis

    data_file = tmp_path_factory.mktemp("redis") / "redis.db"
    embedded_redis.ensure_running(data_file, idle_seconds=3600)
    yield embedded_redis.EmbeddedServer.at(data_file).url
    embedded_redis.stop(data_file)


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


@contextlib.contextmanager
def app_over(migrated_database: dict[str, Any], **config: Any) -> Iterator[Flask]:
    """An app over the session's database for one backend; its rows are deleted after.

    ``config`` overrides the test configuration (``WTF_CSRF_ENABLED``, ``FILES_DIR``).
    The fixture ``app`` gives one per test; a module whose tests only read a costly
    world (the demo) builds one per module with it.
    """
    from server.app import create_app
    from server.queues import redis_connection

    application = create_app({**migrated_database["config"], **config})
    application.config["DB_BACKEND"] = migrated_database["backend"]
    redis_connection(application).flushdb()  # queues, flags and counters of earlier tests
    try:
        yield application
    finally:
        _empty_tables(application)


@pytest.fixture
def app(migrated_database: dict[str, Any]) -> Iterator[Flask]:
    with app_over(migrated_database) as application:
        yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
