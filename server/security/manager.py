"""Flask-AppBuilder's security manager, adjusted for an offline intranet."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import g, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import (
    PermissionViewModelView,
    RoleModelView,
    UserGroupModelView,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from server.extensions import db
from server.partners.models import PartnerUser
from server.queues import REDIS_ERRORS
from server.security import login_throttle
from server.security.commands import record_login_locks

#: menu entries of the partner portal: shown only to a login that acts for a partner
PORTAL_MENUS = frozenset({"My partner account", "Portal"})

logger = logging.getLogger(__name__)


class GroupView(UserGroupModelView):
    """FAB's groups, with the column names FAB leaves untranslated."""

    label_columns = {
        "name": _l("Name"),
        "label": _l("Label"),
        "description": _l("Description"),
        "users": _l("Users"),
        "roles": _l("Roles"),
    }


class RoleView(RoleModelView):
    """FAB's roles, with names for the filters on users and groups."""

    label_columns = {**RoleModelView.label_columns, "user": _l("Users"), "groups": _l("Groups")}


class PermissionView(PermissionViewModelView):
    """FAB's permissions on views, with a name for the filter on roles."""

    label_columns = {**PermissionViewModelView.label_columns, "role": _l("Role")}


class PartnerflowSecurityManager(SecurityManager):
    """FAB's security manager without the user-statistics chart, which loads Google
    Charts from the internet (not reachable on an offline intranet), with the
    portal's menu shown only to logins that act for a partner (an administrator has
    every permission, but no partner account to open), and with password guessing
    limited per account and per address (:mod:`server.security.login_throttle`)."""

    userstatschartview = None
    groupmodelview = GroupView
    rolemodelview = RoleView
    permissionviewmodelview = PermissionView

    def auth_user_db(self, username: str, password: str) -> Any:
        """FAB's password check, behind the shared login throttle. Both the login form
        and ``POST /api/v1/security/login`` call it.

        When the account or the address is locked no password is checked: the
        refusal is left in ``g.login_locked`` and the response becomes a 429 with the
        time to wait (:func:`server.views.error_pages.install_error_pages`), as FAB's
        REST login turns any exception into a 500.
        """
        if not username:
            return super().auth_user_db(username, password)
        known = self.find_user(username=username) or self.find_user(email=username)
        # one counter per account whether it is named by login or e-mail; unknown
        # names are counted by name, so guessing them is limited too
        account = f"id-{known.id}" if known is not None else f"name-{username.lower()[:200]}"
        label = known.username if known is not None else username[:200]
        address = request.remote_addr or "unknown"
        try:
            attempt = login_throttle.reserve(account, label, address)
        except login_throttle.LoginLocked as locked:
            g.login_locked = locked
            return None
        except REDIS_ERRORS as error:
            return self._auth_while_redis_is_down(username, password, account, address, error)
        user = super().auth_user_db(username, password)
        if user is None:
            locks = login_throttle.failed(attempt, label)
            if locks:
                record_login_locks(locks, address)
        else:
            login_throttle.succeeded(attempt)
        return user

    def _auth_while_redis_is_down(
        self, username: str, password: str, account: str, address: str, error: Exception
    ) -> Any:
        """Redis is down: this process's memory limits guessing meanwhile."""
        logger.warning("login throttle: Redis unavailable, limiting in memory (%s)", error)
        try:
            login_throttle.MEMORY.check(account, address)
        except login_throttle.LoginLocked as locked:
            g.login_locked = locked
            return None
        user = super().auth_user_db(username, password)
        if user is None:
            login_throttle.MEMORY.failed(account, address)
        return user

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
