"""The partner portal (role Partner): thin pages over :mod:`server.portal.queries`.

Every route resolves the logged-in user's partner first (403 without one) and reads
only rows of that partner: an id of another partner's code, statement or contract is
"not found" (404), exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, redirect, request, send_file, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user

from server.db.types import utcnow
from server.documents.contracts import contract_pdf, local_today
from server.documents.storage import StoredFileError
from server.errors import CommandError
from server.i18n import current_language
from server.labels import value_label
from server.ledger.models import AccrualKind, AccrualStatus
from server.partners.models import CodeKind, CodeStatus, Partner, PartnerKind
from server.partners.qr import point_sheet_pdf, public_url, qr_png, qr_svg
from server.portal import queries
from server.statements.commands import statement_pdf
from server.views.codes import public_base_url
from server.views.query_args import date_arg, enum_arg, page_arg


def _filters() -> queries.AccrualFilter:
    return queries.AccrualFilter(
        kind=enum_arg("kind", AccrualKind),
        status=enum_arg("status", AccrualStatus),
        date_from=date_arg("from"),
        date_to=date_arg("to"),
        rule=(request.args.get("rule") or None),
    )


def _attachment(body: bytes | Any, mimetype: str, name: str, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


class PortalView(BaseView):
    """A partner's own account: balance, rules, accruals, codes, statements, contracts."""

    route_base = "/portal"
    default_view = "home"

    def _partner(self) -> Partner:
        partner = queries.partner_of_user(int(current_user.id))
        if partner is None:
            abort(403)
        return partner

    @expose("/")
    @has_access
    def home(self) -> ResponseReturnValue:
        partner = self._partner()
        today = utcnow().date()
        month_amount, month_count = queries.month_summary(partner, today)
        recent, _total = queries.accruals_page(
            partner, queries.AccrualFilter(date_from=today.replace(day=1), date_to=today)
        )
        return self.render_template(
            "portal/home.html",
            partner=partner,
            balance=queries.balance(partner.id),
            month_amount=month_amount,
            month_count=month_count,
            recent=recent[:10],
            rules=queries.rule_labels(accrual for accrual, _event in recent[:10]),
            status_words=queries.STATUS_WORDS,
            statements=queries.ready_statement_count(partner.id),
            todos=queries.partner_todos(partner.id, utcnow()),
        )

    @expose("/programs")
    @has_access
    def programs(self) -> ResponseReturnValue:
        partner = self._partner()
        today = local_today(partner.region)
        programs = queries.my_programs(partner, current_language(), today)
        return self.render_template("portal/programs.html", partner=partner, programs=programs)

    @expose("/rules")
    @has_access
    def rules(self) -> ResponseReturnValue:
        """The former «My rules» page: its rules are on «My programs» now."""
        self._partner()
        return redirect(url_for("PortalView.programs"), code=301)

    @expose("/accruals")
    @has_access
    def accruals(self) -> ResponseReturnValue:
        partner = self._partner()
        filters = _filters()
        page = page_arg()
        rows, total = queries.accruals_page(partner, filters, page)
        return self.render_template(
            "portal/accruals.html",
            partner=partner,
            rows=rows,
            total=total,
            page=page,
            page_size=queries.PAGE_SIZE,
            filters=filters,
            kinds=list(AccrualKind),
            statuses=list(AccrualStatus),
            rule_choices=queries.rule_choices(partner.id),
            rules=queries.rule_labels(accrual for accrual, _event in rows),
            status_words=queries.STATUS_WORDS,
            args={k: v for k, v in request.args.items() if k != "page"},
        )

    @expose("/accruals.csv")
    @has_access
    def accruals_csv(self) -> ResponseReturnValue:
        partner = self._partner()
        # a partner's file: headers and stored words in the reader's language
        headers = [str(header) for header in queries.CSV_HEADERS]
        body = stream_with_context(queries.accruals_csv(partner, _filters(), headers, value_label))
        return _attachment(body, "text/csv", f"accruals-{partner.id}.csv")

    @expose("/codes")
    @has_access
    def codes(self) -> ResponseReturnValue:
        partner = self._partner()
        base = public_base_url()
        rows = [(code, public_url(base, code)) for code in queries.codes(partner.id)]
        # the sheet is printed for an offline point's active QR codes (point_sheet_pdf)
        sheet = partner.kind is PartnerKind.offline_point and any(
            code.kind is CodeKind.qr and code.status is CodeStatus.active for code, _url in rows
        )
        return self.render_template("portal/codes.html", partner=partner, rows=rows, sheet=sheet)

    @expose("/codes/<int:code_id>.png")
    @has_access
    def code_png(self, code_id: int) -> ResponseReturnValue:
        code = queries.own_code(self._partner().id, code_id) or abort(404)
        body = qr_png(public_url(public_base_url(), code))
        return _attachment(body, "image/png", f"qr-{code.id}.png", inline=True)

    @expose("/codes/<int:code_id>.svg")
    @has_access
    def code_svg(self, code_id: int) -> ResponseReturnValue:
        code = queries.own_code(self._partner().id, code_id) or abort(404)
        body = qr_svg(public_url(public_base_url(), code))
        return _attachment(body, "image/svg+xml", f"qr-{code.id}.svg", inline=True)

    @expose("/codes/sheet.pdf")
    @has_access
    def code_sheet(self) -> ResponseReturnValue:
        partner = self._partner()
        try:
            body = point_sheet_pdf(partner.id, public_base_url(), current_language())
        except CommandError:
            abort(404)
        return _attachment(body, "application/pdf", f"qr-sheet-{partner.id}.pdf")

    @expose("/statements")
    @has_access
    def statements(self) -> ResponseReturnValue:
        partner = self._partner()
        return self.render_template(
            "portal/statements.html",
            partner=partner,
            statements=queries.statements(partner.id),
            contracts=queries.contracts(partner.id),
        )

    @expose("/statements/<int:statement_id>.pdf")
    @has_access
    def statement_file(self, statement_id: int) -> ResponseReturnValue:
        partner = self._partner()
        try:
            path, name = statement_pdf(statement_id, partner.id)
        except CommandError:
            abort(404)
        return send_file(path, mimetype="application/pdf", download_name=name, as_attachment=True)

    @expose("/contracts/<int:contract_id>.pdf")
    @has_access
    def contract_file(self, contract_id: int) -> ResponseReturnValue:
        partner = self._partner()
        if queries.own_contract(partner.id, contract_id) is None:
            abort(404)
        try:
            path, name = contract_pdf(contract_id)
        except (CommandError, StoredFileError):
            abort(404)
        return send_file(path, mimetype="application/pdf", download_name=name, as_attachment=True)
