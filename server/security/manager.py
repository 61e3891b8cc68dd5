"""Flask-AppBuilder's security manager, adjusted for an offline intranet."""

from __future__ import annotations

from flask_appbuilder.security.sqla.manager import SecurityManager


class PartnerflowSecurityManager(SecurityManager):
    """FAB's security manager without the user-statistics chart, which loads Google
    Charts from the internet (not reachable on an offline intranet)."""

    userstatschartview = None
