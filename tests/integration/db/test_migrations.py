"""Every migration can be undone: down to an empty database and up again, on both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from server.extensions import db
from tests.support.schema import empty_database_app, schema_differences


def test_down_to_base_and_up_again_leaves_the_schema_as_the_models_say(
    migrated_database: dict[str, Any], tmp_path: Path
) -> None:
    app = empty_database_app(migrated_database, tmp_path)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        ours = {name for name in tables if not name.startswith("ab_")}
        assert ours == set()
        upgrade()
        assert schema_differences() == []
        db.engine.dispose()
