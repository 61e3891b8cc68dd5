"""The differences Alembic finds between the database and the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model

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
