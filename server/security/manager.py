"""Flask-AppBuilder's security manager, adjusted for an offline intranet."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_login import current_user

from server.extensions import db
from server.partners.models import PartnerUser

#: menu entries of the partner portal: shown only to a login that acts for a partner
PORTAL_MENUS = frozenset({"My partner account", "Portal"})


class PartnerflowSecurityManager(SecurityManager):
    """FAB's security manager without the user-statistics chart, which loads Google
    Charts from the internet (not reachable on an offline intranet), and with the
    portal's menu shown only to logins that act for a partner (an administrator has
    every permission, but no partner account to open)."""

    userstatschartview = None

    def has_access(self, permission_name: str, view_name: str) -> Any:
        allowed = super().has_access(permission_name, view_name)
        if allowed and permission_name == "menu_access" and view_name in PORTAL_MENUS:
            return _acts_for_a_partner()
        return allowed


def _acts_for_a_partner() -> bool:
    """Whether the logged-in user is linked to a partner (asked once per request)."""
    if "pf_acts_for_partner" not in g:
        g.pf_acts_for_partner = bool(
            current_user.is_authenticated
            and db.session.scalar(
                sa.select(PartnerUser.partner_id).where(PartnerUser.user_id == current_user.id)
            )
            is not None
        )
    return bool(g.pf_acts_for_partner)
