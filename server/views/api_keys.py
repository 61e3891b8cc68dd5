"""API keys in the browser (Admin): list, create (the key is shown once), revoke."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server.errors import CommandError
from server.extensions import db
from server.security.api_keys import create_api_key, revoke_api_key
from server.security.models import ApiKey
from server.views.forms import actor_id


class ApiKeyView(ModelView):
    """Integration keys. Only the key's SHA-256 is stored; the key itself is shown once."""

    route_base = "/apikeys"
    datamodel = SQLAInterface(ApiKey)
    base_permissions = ["can_list", "can_show", "can_issue", "can_revoke"]
    list_columns = ["name", "source", "prefix", "created_at", "last_used_at", "revoked_at"]
    show_columns = list_columns
    search_columns = ["name", "source", "prefix"]
    base_order = ("id", "desc")
    list_template = "api_keys/list.html"
    label_columns = {
        "name": _l("Name"),
        "source": _l("Source"),
        "prefix": _l("Key starts with"),
        "created_at": _l("Created"),
        "last_used_at": _l("Last used"),
        "revoked_at": _l("Revoked"),
    }

    @expose("/list/")
    @has_access
    def list(self) -> ResponseReturnValue:
        self.update_redirect()
        active = db.session.scalars(
            sa.select(ApiKey).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.id)
        ).all()
        return self.render_template(
            self.list_template, title=self.list_title, widgets=self._list(), active_keys=active
        )

    @expose("/issue", methods=["POST"])
    @has_access
    @permission_name("issue")
    def issue(self) -> ResponseReturnValue:
        try:
            issued = create_api_key(
                request.form.get("name", "").strip(),
                request.form.get("source", "").strip(),
                actor_id(),
            )
        except CommandError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".list"))
        # Shown in this response only; never stored, logged or put in a URL.
        return self.render_template("api_keys/issued.html", issued=issued)

    @expose("/revoke/<int:key_id>", methods=["POST"])
    @has_access
    @permission_name("revoke")
    def revoke(self, key_id: int) -> ResponseReturnValue:
        if db.session.get(ApiKey, key_id) is None:
            abort(404)
        revoke_api_key(key_id)
        flash(_("API key revoked: requests with it are refused from now on."), "info")
        return redirect(url_for(".list"))
