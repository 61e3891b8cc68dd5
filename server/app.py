"""The application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_appbuilder import AppBuilder

from server.config import build_config
from server.extensions import db, migrate


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Partnerflow app.

    ``config`` overrides the defaults and the environment (tests pass a database URL,
    an instance folder and a Redis URL here).

    Raises:
        ConfigurationError: a configured URL is malformed.
    """
    settings = build_config(config)
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    import server.models  # noqa: F401  (register every table on the metadata)
    from server.views.guards import bound_path_integers

    bound_path_integers(app)  # before any route exists
    from server.security.csrf import install_csrf_protection, register_csrf_extension

    register_csrf_extension(app)

    with app.app_context():
        from server.db import configure_engine
        from server.views import IndexView, register_views

        configure_engine(db.engine)

        from server.security.manager import PartnerflowSecurityManager

        builder = AppBuilder(
            indexview=IndexView,
            base_template="partnerflow_base.html",
            security_manager_class=PartnerflowSecurityManager,
            update_perms=False,
        )
        builder.init_app(app, db.session)
        register_views(builder)
        builder.post_init()
    install_csrf_protection(app)

    from server.api import install_api_errors
    from server.health import health_blueprint
    from server.i18n import register_template_helpers
    from server.queues import init_queues
    from server.security.headers import install_security_headers
    from server.views.error_pages import install_error_pages
    from server.views.guards import (
        fix_blank_choice_text,
        fix_enum_field_validation,
        install_view_guards,
    )

    fix_enum_field_validation()
    fix_blank_choice_text()

    init_queues(app)
    install_security_headers(app)
    install_view_guards(app)
    install_error_pages(app)
    install_api_errors(app)
    app.register_blueprint(health_blueprint)
    register_template_helpers(app)
    return app


def _migrations_dir() -> Any:
    from server.config import REPO_ROOT

    return REPO_ROOT / "migrations"
