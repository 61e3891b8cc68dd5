"""The differences Alembic finds between the database and the models, and an app on an
empty database for the migration tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_appbuilder import Model

from server.app import create_app
from server.db.references import schema_comparison_filter
from server.extensions import db


def schema_differences() -> list[Any]:
    """What ``flask db migrate`` would write for the app's database (empty: in step)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": schema_comparison_filter(connection.dialect.name),
            },
        )
        return list(compare_metadata(context, Model.metadata))


def _fresh_postgres_database(session_url: str) -> str:
    """A new empty database on the server the session's database lives on."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(session_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return sa.make_url(session_url).set(database=name).render_as_string(hide_password=False)


def empty_database_app(migrated_database: dict[str, Any], tmp_path: Path) -> Flask:
    """An app like the session's (``migrated_database``) on a new, empty database of the
    same backend, for a test to migrate itself."""
    if migrated_database["backend"] == "postgresql":
        url = _fresh_postgres_database(migrated_database["config"]["SQLALCHEMY_DATABASE_URI"])
    else:
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    config = dict(migrated_database["config"], SQLALCHEMY_DATABASE_URI=url)
    config["INSTANCE_PATH"] = str(tmp_path / "instance")
    return create_app(config)
