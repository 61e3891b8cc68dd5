"""Login locks in the browser (Admin): who is locked out after wrong passwords, and
the button that lets them in again (``server.security.login_throttle``)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _

from server.errors import CommandError
from server.security.commands import unlock_login
from server.security.login_throttle import active_locks
from server.views.forms import actor_id


class LoginLockView(BaseView):
    """Active login locks (by account and by network address), each with Unlock."""

    route_base = "/login-locks"
    default_view = "list"
    base_permissions = ["can_list", "can_unlock"]

    @expose("/")
    @has_access
    def list(self) -> ResponseReturnValue:
        return self.render_template(
            "security/login_locks.html", title=_("Login locks"), locks=active_locks()
        )

    @expose("/unlock", methods=["POST"])
    @has_access
    @permission_name("unlock")
    def unlock(self) -> ResponseReturnValue:
        scope, key = request.form.get("scope", ""), request.form.get("key", "")
        if scope not in ("account", "address") or not key:
            abort(400, description=_("Name a lock to lift: an account or an address."))
        try:
            label = unlock_login(scope, key, actor_id())
        except CommandError:
            flash(_("This lock no longer holds."), "info")
        else:
            flash(_("Unlocked: %(what)s may log in again.", what=label), "success")
        return redirect(url_for(".list"))
