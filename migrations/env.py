"""Alembic environment: the app's engine and the whole metadata (server.models)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from flask_appbuilder import Model

import server.models  # noqa: F401  (every table on the metadata)
from server.db.references import schema_comparison_filter

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
# Flask-AppBuilder's declarative base holds every table (ours and its ab_* tables).
target_metadata = Model.metadata


def _engine():
    return target_db.engine


def run_migrations_offline() -> None:
    url = _engine().url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(context, revision, directives):
        # never write an empty revision from `db migrate`
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty)
    conf_args.setdefault("compare_type", True)
    with _engine().connect() as connection:
        conf_args["render_as_batch"] = connection.dialect.name == "sqlite"
        # foreign keys PostgreSQL enforces by trigger are not missing there
        conf_args.setdefault("include_object", schema_comparison_filter(connection.dialect.name))
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
