"""The first page (a manager's overview) and the KPI dashboards with SVG charts and CSV."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, current_app, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import AppBuilder, BaseView, expose, has_access
from flask_appbuilder import IndexView as FabIndexView
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from server.dashboards.charts import bar_chart, column_chart
from server.dashboards.overview import overview, top_partners
from server.dashboards.queries import (
    DashboardFilter,
    Dimension,
    breakdown,
    breakdown_csv,
    growth,
    ranking,
    totals,
)
from server.dashboards.rollup import ensure_rollups
from server.db.types import utcnow
from server.i18n import format_money
from server.programs.queries import published_versions

#: the default range of the dashboards, in days back from today
DEFAULT_RANGE_DAYS = 180


class IndexView(FabIndexView):
    """Anonymous visitors are sent to the login page; partners to their portal; staff
    see the overview, read from the KPI rollups (the page says "as of")."""

    route_base = ""
    index_template = "dashboard.html"

    @expose("/")
    def index(self) -> ResponseReturnValue:
        if not current_user.is_authenticated:
            return redirect(url_for(f"{self.appbuilder.sm.auth_view.endpoint}.login"))
        sm = self.appbuilder.sm
        if (
            "PortalView.home" in current_app.view_functions
            and sm.has_access("can_home", "PortalView")
            and not sm.has_access("can_list", "DashboardView")
        ):
            return redirect(url_for("PortalView.home"))
        if not sm.has_access("can_list", "DashboardView"):
            # a login with no screens of its own (an integration's): no figures for it
            return self.render_template("welcome.html")
        as_of = ensure_rollups()
        return self.render_template(
            self.index_template,
            as_of=as_of,
            overview=overview(),
            ranking=top_partners(),
            versions=published_versions(),
        )


def _filter() -> DashboardFilter:
    today = utcnow().date()

    def day(name: str, default: date) -> date:
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return default

    date_to = day("to", today)
    date_from = day("from", date_to - timedelta(days=DEFAULT_RANGE_DAYS))
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    try:
        dimension = Dimension(request.args.get("by", Dimension.region.value))
    except ValueError:
        dimension = Dimension.region
    return DashboardFilter(date_from, date_to, dimension)


class DashboardView(BaseView):
    """Sales growth, conversion, average check, ROI, ranking and new customers."""

    route_base = "/dashboard"
    default_view = "kpis"

    @expose("/")
    @has_access
    @permission_name("list")
    def kpis(self) -> ResponseReturnValue:
        flt = _filter()
        as_of = ensure_rollups()
        rows = breakdown(flt)
        months = growth(flt)
        return self.render_template(
            "dashboards/kpis.html",
            flt=flt,
            as_of=as_of,
            dimensions=list(Dimension),
            rows=rows,
            total=totals(rows, _("Total")),
            months=months,
            ranking=ranking(flt),
            sales_chart=bar_chart(
                [(row.label, row.sales_amount, format_money(row.sales_amount)) for row in rows],
                _("Sales by group"),
                "sales-chart",
            ),
            growth_chart=column_chart(
                [(name, amount, format_money(amount)) for name, amount, _c in months],
                _("Sales by month"),
                "growth-chart",
            ),
        )

    @expose("/export.csv")
    @has_access
    @permission_name("download")
    def export(self) -> ResponseReturnValue:
        flt = _filter()
        ensure_rollups()
        name = f"kpis-{flt.dimension.value}-{flt.date_from}-{flt.date_to}.csv"
        return Response(
            breakdown_csv(flt),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


def register_dashboard_views(builder: AppBuilder) -> None:
    """Add the Dashboard menu entry."""
    builder.add_view(DashboardView, "Dashboard", label=_l("Dashboards"), icon="fa-bar-chart")
