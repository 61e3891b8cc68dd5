"""The first page (a manager's overview) and the KPI dashboards with SVG charts and CSV."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, current_app, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder import IndexView as FabIndexView
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from flask_login import current_user

from server.dashboards.charts import bar_chart, column_chart
from server.dashboards.overview import (
    RECENT_REJECTIONS_DAYS,
    integration_status,
    overview,
    todays_work,
    top_partners,
)
from server.dashboards.queries import (
    DashboardFilter,
    Dimension,
    breakdown,
    breakdown_csv,
    growth,
    ranking,
    totals,
)
from server.db.types import utcnow
from server.i18n import current_language, format_month, format_rounded_money
from server.programs.queries import published_versions
from server.statements.commands import open_months_through
from server.tasks.dashboards import ensure_rollups
from server.views.query_args import date_arg, enum_arg

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
            return self.render_template(
                "welcome.html", status=integration_status(utcnow()), days=RECENT_REJECTIONS_DAYS
            )
        as_of = ensure_rollups()
        last_month_end = utcnow().date().replace(day=1) - timedelta(days=1)
        work = todays_work(len(open_months_through(last_month_end)))
        return self.render_template(
            self.index_template,
            as_of=as_of,
            work=work,
            may=lambda permission, view: sm.has_access(permission, view),
            overview=overview(),
            ranking=top_partners(),
            versions=published_versions(),
        )


def _filter() -> DashboardFilter:
    date_to = date_arg("to", utcnow().date()) or utcnow().date()
    date_from = date_arg("from") or date_to - timedelta(days=DEFAULT_RANGE_DAYS)
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    dimension = enum_arg("by", Dimension, Dimension.region) or Dimension.region
    return DashboardFilter(date_from, date_to, dimension)


def _partial_months(flt: DashboardFilter) -> set[str]:
    """The ``YYYY-MM`` keys of the months the range cuts: a month's sum over part of it
    must not read as a fall (the current month, a range starting mid-month)."""
    partial = set()
    if flt.date_from.day != 1:
        partial.add(flt.date_from.strftime("%Y-%m"))
    if (flt.date_to + timedelta(days=1)).day != 1:
        partial.add(flt.date_to.strftime("%Y-%m"))
    return partial


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
        partial = _partial_months(flt)
        return self.render_template(
            "dashboards/kpis.html",
            flt=flt,
            as_of=as_of,
            dimensions=list(Dimension),
            rows=rows,
            total=totals(rows, _("Total")),
            months=months,
            partial=partial,
            ranking=ranking(flt),
            sales_chart=bar_chart(
                [
                    (row.label, row.sales_amount, format_rounded_money(row.sales_amount))
                    for row in rows
                ],
                _("Sales by group"),
                "sales-chart",
                current_language(),
            ),
            growth_chart=column_chart(
                [
                    (
                        _("%(month)s (part)", month=format_month(name))
                        if name in partial
                        else format_month(name),
                        amount,
                        format_rounded_money(amount),
                    )
                    for name, amount, _c in months
                ],
                _("Sales by month"),
                "growth-chart",
                current_language(),
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
