"""The first page: a manager's overview of partners, sales and accruals."""

from __future__ import annotations

from flask import redirect, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import IndexView as FabIndexView
from flask_appbuilder import expose
from flask_login import current_user

from server.ledger.queries import ledger_overview, top_partners
from server.programs.queries import published_versions


class IndexView(FabIndexView):
    """Anonymous visitors are sent to the login page; staff see the overview."""

    route_base = ""
    index_template = "dashboard.html"

    @expose("/")
    def index(self) -> ResponseReturnValue:
        if not current_user.is_authenticated:
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.endpoint}.login"))
        return self.render_template(
            self.index_template,
            overview=ledger_overview(),
            ranking=top_partners(),
            versions=published_versions(),
        )
