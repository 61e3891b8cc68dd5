"""Every migration can be undone: down to an empty database and up again, on both."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from server.app import create_app
from server.extensions import db
from tests.support.schema import schema_differences


def _fresh_postgres_database(session_url: str) -> str:
    """A new empty database on the server the session's database lives on."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(session_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return sa.make_url(session_url).set(database=name).render_as_string(hide_password=False)


def test_down_to_base_and_up_again_leaves_the_schema_as_the_models_say(
    migrated_database: dict[str, Any], tmp_path: Path
) -> None:
    if migrated_database["backend"] == "postgresql":
        url = _fresh_postgres_database(migrated_database["config"]["SQLALCHEMY_DATABASE_URI"])
    else:
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    config = dict(migrated_database["config"], SQLALCHEMY_DATABASE_URI=url)
    config["INSTANCE_PATH"] = str(tmp_path / "instance")
    app = create_app(config)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        ours = {name for name in tables if not name.startswith("ab_")}
        assert ours == set()
        upgrade()
        assert schema_differences() == []
        db.engine.dispose()
