"""Extension objects. ``db`` and ``migrate`` are bound by :func:`server.app.create_app`.

Flask-AppBuilder keeps views and menus on its ``AppBuilder`` instance, so each app gets
its own (tests build several apps in one process); ``appbuilder`` here is a proxy to
the current app's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from flask import current_app
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from werkzeug.local import LocalProxy

if TYPE_CHECKING:
    from flask_appbuilder import AppBuilder

db = SQLA()
migrate = Migrate()
#: the one CSRF check of every POST (``server.security.csrf``)
csrf = CSRFProtect()
appbuilder = cast("AppBuilder", LocalProxy(lambda: current_app.extensions["appbuilder"]))
