"""Managers' statement screens: close a period, follow the batch, download, pay out."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _

from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.queues import REDIS_ERRORS
from server.statements import commands
from server.statements.models import PeriodClose, Statement
from server.statements.payouts import mark_paid, payout_plan, payouts_csv
from server.tasks.statements import enqueue_close_renders, renders_after_close
from server.views.forms import actor_id, csrf_token


def _previous_month() -> tuple[date, date]:
    first_of_this = utcnow().date().replace(day=1)
    return commands.month_of(first_of_this - timedelta(days=1))


def _suggested_period() -> tuple[date, date, list[tuple[date, date]]]:
    """The form's period (the first open month, else last month) and the months still
    open up to last month, oldest first: what "close in order" would close."""
    start, end = _previous_month()
    waiting = commands.open_months_through(end)
    if waiting:
        start, end = waiting[0]
    return start, end, waiting


class StatementView(BaseView):
    """Period closes, their statements' progress, PDFs and payouts."""

    route_base = "/statements"
    default_view = "closes"

    def _close(self, close_id: int) -> PeriodClose:
        return db.session.get(PeriodClose, close_id) or abort(404)

    @expose("/")
    @has_access
    @permission_name("list")
    def closes(self) -> ResponseReturnValue:
        start, end, waiting = _suggested_period()
        rows = [(close, commands.progress(close.id)) for close in commands.closes()]
        return self.render_template(
            "statements/closes.html",
            rows=rows,
            start=start,
            end=end,
            waiting=waiting if len(waiting) > 1 else [],
            csrf_token=csrf_token,
        )

    @expose("/close", methods=["POST"])
    @has_access
    @permission_name("close")
    def close(self) -> ResponseReturnValue:
        try:
            start = date.fromisoformat(request.form.get("period_start", ""))
            end = date.fromisoformat(request.form.get("period_end", ""))
        except ValueError:
            flash(_("Enter the period's first and last day."), "danger")
            return redirect(url_for(".closes"))
        try:
            close_id = commands.close_period(start, end, actor_id())
        except commands.EarlierPeriodsOpen as error:
            flash(str(error), "warning")
            return redirect(url_for(".closes"))
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".closes"))
        queued = renders_after_close(close_id)
        flash(_("Period closed; %(n)s statements queued.", n=queued), "success")
        return redirect(url_for(".show", close_id=close_id))

    @expose("/close-in-order", methods=["POST"])
    @has_access
    @permission_name("close")
    def close_in_order(self) -> ResponseReturnValue:
        try:
            end = date.fromisoformat(request.form.get("period_end", ""))
        except ValueError:
            flash(_("Enter the period's first and last day."), "danger")
            return redirect(url_for(".closes"))
        closed: list[int] = []
        try:
            for start, last in commands.open_months_through(end):
                closed.append(commands.close_period(start, last, actor_id()))
        except CommandError as error:
            flash(str(error), "danger")
        queued = sum(renders_after_close(close_id) for close_id in closed)
        if closed:
            flash(
                _(
                    "Periods closed in order: %(periods)s; statements queued: %(n)s.",
                    periods=len(closed),
                    n=queued,
                ),
                "success",
            )
        return redirect(url_for(".closes"))

    @expose("/<int:close_id>")
    @has_access
    @permission_name("show")
    def show(self, close_id: int) -> ResponseReturnValue:
        close = self._close(close_id)
        statements = db.session.scalars(
            sa.select(Statement)
            .where(
                Statement.period_start == close.period_start,
                Statement.period_end == close.period_end,
            )
            .order_by(Statement.id)
        ).all()
        return self.render_template(
            "statements/close.html",
            close=close,
            progress=commands.progress(close.id),
            statements=statements,
            payouts=payout_plan(close.id),
            csrf_token=csrf_token,
        )

    @expose("/<int:close_id>/progress.json")
    @has_access
    @permission_name("show")
    def progress(self, close_id: int) -> ResponseReturnValue:
        state = commands.progress(self._close(close_id).id)
        return {
            "total": state.total,
            "pending": state.pending,
            "ready": state.ready,
            "failed": state.failed,
        }

    @expose("/<int:close_id>/requeue", methods=["POST"])
    @has_access
    @permission_name("close")
    def requeue(self, close_id: int) -> ResponseReturnValue:
        try:
            queued = enqueue_close_renders(self._close(close_id).id)
        except REDIS_ERRORS as error:
            flash(str(error), "danger")
        else:
            flash(_("%(n)s statements queued.", n=queued), "success")
        return redirect(url_for(".show", close_id=close_id))

    @expose("/pdf/<int:statement_id>")
    @has_access
    @permission_name("download")
    def pdf(self, statement_id: int) -> ResponseReturnValue:
        try:
            path, name = commands.statement_pdf(statement_id)
        except CommandError:
            abort(404)
        return send_file(path, mimetype="application/pdf", download_name=name, as_attachment=True)

    @expose("/<int:close_id>/payouts.csv")
    @has_access
    @permission_name("download")
    def payouts(self, close_id: int) -> ResponseReturnValue:
        close = self._close(close_id)
        return Response(
            payouts_csv(close.id),
            mimetype="text/csv",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="payouts-{close.period_start}-{close.period_end}.csv"'
                )
            },
        )

    @expose("/<int:close_id>/paid", methods=["POST"])
    @has_access
    @permission_name("pay")
    def paid(self, close_id: int) -> ResponseReturnValue:
        close = self._close(close_id)
        selected = [int(v) for v in request.form.getlist("partner") if v.isdigit()]
        try:
            rows = mark_paid(close.id, selected or None, actor_id())
        except CommandError as error:
            flash(str(error), "danger")
        else:
            flash(_("%(n)s payouts recorded in the ledger.", n=len(rows)), "success")
        return redirect(url_for(".show", close_id=close_id))
