"""Attribution codes: the managers' screens and the public ``/r`` and ``/q`` routes.

Routes:

* ``/attributioncodeview/list/``, ``show/<id>``: codes, read-only; revoke is a list
  action (one or many, CSRF-checked)
* ``/attributioncodeview/generate/`` (GET form, POST create): a new code for a partner
* ``/attributioncodeview/qr/<id>.png`` and ``.svg``: the code's QR image
* ``/attributioncodeview/sheet/<partner_id>``: an offline point's A4 PDF of QR codes
* ``/r/<code>`` (public): records a click, redirects to the partner's landing page
* ``/q/<token>`` (public): records a scan, shows the point's offer page
* ``/r/<code>/offer``, ``/q/<token>/offer`` (public): the same page, nothing recorded
  (its language links lead here, so switching language is not another visit)
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from server.documents.pdf import DocumentRenderError
from server.errors import CommandError
from server.extensions import db
from server.i18n import current_language
from server.partners.codes import (
    CLICK_KINDS,
    SCAN_KINDS,
    CodeNotFoundError,
    NewCode,
    find_active_code,
    generate_code,
    record_visit,
    revoke_codes,
    visit_counts,
)
from server.partners.models import AttributionCode, CodeKind, Partner, PartnerKind, VisitKind
from server.partners.qr import point_sheet_pdf, public_url, qr_png, qr_svg
from server.views.forms import actor_id
from server.views.query_args import int_arg


def public_base_url() -> str:
    """The server's public address for QR codes: ``PUBLIC_BASE_URL``, else this request's."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    return str(configured or request.url_root)


class GenerateCodeForm(FlaskForm):
    partner_id = SelectField(_l("Partner"), coerce=int, validators=[DataRequired()])
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice(CodeKind.promo.value, _l("Promo code")),
            SelectChoice(CodeKind.qr.value, _l("QR code of an offline point")),
            SelectChoice(CodeKind.referral.value, _l("Referral link")),
        ],
    )
    code = StringField(
        _l("Promo code text (optional)"),
        validators=[Optional()],
        description=_l("Leave empty to draw a readable code; QR and referral codes are drawn."),
    )


class AttributionCodeView(ModelView):
    datamodel = SQLAInterface(AttributionCode)
    # Codes are never deleted or edited: revoking keeps the row, so it is never reused.
    base_permissions = ["can_list", "can_show", "can_generate", "can_qr"]
    base_order = ("id", "desc")
    list_columns = ["code", "kind", "partner", "status", "created_at", "revoked_at"]
    show_columns = ["code", "kind", "partner", "status", "campaign_id", "created_at", "revoked_at"]
    search_columns = ["code", "kind", "status", "partner"]
    show_template = "codes/code_show.html"
    list_template = "codes/code_list.html"
    label_columns = {
        "code": _l("Code"),
        "kind": _l("Kind"),
        "partner": _l("Partner"),
        "status": _l("Status"),
        "campaign_id": _l("Campaign"),
        "created_at": _l("Created"),
        "revoked_at": _l("Revoked"),
    }

    @action(
        "revoke",
        _l("Revoke"),
        _l("Revoke the selected codes? They stop working at once and can never be reused."),
        "fa-ban",
    )
    def revoke(self, items: Any) -> ResponseReturnValue:
        rows = items if isinstance(items, list) else [items]
        try:
            revoked = revoke_codes([row.id for row in rows if row is not None], actor_id())
        except CommandError as error:
            flash(str(error), "danger")
        else:
            flash(_("Revoked %(count)s codes.", count=len(revoked)), "success")
        return redirect(url_for(".list"))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> ResponseReturnValue:
        widgets = self._show(pk)
        code = db.get_or_404(AttributionCode, int(pk))
        counts = visit_counts(code.id)
        return self.render_template(
            self.show_template,
            pk=pk,
            title=self.show_title,
            widgets=widgets,
            related_views=self._related_views,
            code=code,
            url=public_url(public_base_url(), code),
            clicks=counts[VisitKind.click],
            scans=counts[VisitKind.scan],
            is_point=code.partner.kind is PartnerKind.offline_point,
        )

    @expose("/generate/", methods=["GET", "POST"])
    @has_access
    @permission_name("generate")
    def generate(self) -> ResponseReturnValue:
        form = GenerateCodeForm()
        form.partner_id.choices = [
            SelectChoice(partner.id, str(partner))
            for partner in db.session.scalars(sa.select(Partner).order_by(Partner.code))
        ]
        requested = int_arg("partner_id")
        if request.method == "GET" and requested is not None:
            form.partner_id.data = requested
        if form.validate_on_submit():
            try:
                row = generate_code(
                    NewCode(
                        partner_id=form.partner_id.data,
                        kind=CodeKind(form.kind.data),
                        code=form.code.data or None,
                    ),
                    actor_id(),
                )
            except CommandError as error:
                form.code.errors = [*form.code.errors, str(error)]
            else:
                flash(_("Code %(code)s issued.", code=row.code), "success")
                return redirect(url_for(".show", pk=row.id))
        return self.render_template(
            "codes/generate.html", form=form, title=_("Generate an attribution code")
        )

    @expose("/qr/<int:pk>.png")
    @has_access
    @permission_name("qr")
    def qr_png(self, pk: int) -> ResponseReturnValue:
        code = self._code(pk)
        return _download(qr_png(public_url(public_base_url(), code)), "image/png", code, "png")

    @expose("/qr/<int:pk>.svg")
    @has_access
    @permission_name("qr")
    def qr_svg(self, pk: int) -> ResponseReturnValue:
        code = self._code(pk)
        return _download(qr_svg(public_url(public_base_url(), code)), "image/svg+xml", code, "svg")

    @expose("/sheet/<int:partner_id>")
    @has_access
    @permission_name("qr")
    def sheet(self, partner_id: int) -> ResponseReturnValue:
        try:
            pdf = point_sheet_pdf(partner_id, public_base_url(), current_language())
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".list"))
        except DocumentRenderError:
            current_app.logger.exception("QR sheet of partner %s failed", partner_id)
            flash(_("The sheet could not be rendered."), "danger")
            return redirect(url_for(".list"))
        partner = db.session.get(Partner, partner_id)
        name = f"qr-{partner.code if partner else partner_id}.pdf"
        return Response(
            pdf,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{_ascii(name)}"'},
        )

    def _code(self, pk: int) -> AttributionCode:
        return db.get_or_404(AttributionCode, pk)


def _ascii(name: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)


def _download(body: bytes, mimetype: str, code: AttributionCode, ext: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'inline; filename="{_ascii(f"qr-{code.code}.{ext}")}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


# Public routes: no login. Nothing here reads a URL from the request; the redirect
# target is the partner's stored landing page, checked by ``safe_landing_url``.
public_codes = Blueprint("public_codes", __name__)


@public_codes.route("/r/<code>")
def referral(code: str) -> ResponseReturnValue:
    try:
        visit = record_visit(code, VisitKind.click, request.user_agent.string, request.referrer)
    except CodeNotFoundError:
        return _not_found()
    if visit.redirect_to is not None:
        return redirect(visit.redirect_to, code=302)
    return _offer_page(code, CLICK_KINDS, "public_codes.referral_offer")


@public_codes.route("/r/<code>/offer")
def referral_offer(code: str) -> ResponseReturnValue:
    return _offer_page(code, CLICK_KINDS, "public_codes.referral_offer")


@public_codes.route("/q/<token>")
def scan(token: str) -> ResponseReturnValue:
    try:
        record_visit(token, VisitKind.scan, request.user_agent.string, request.referrer)
    except CodeNotFoundError:
        return _not_found()
    return _offer_page(token, SCAN_KINDS, "public_codes.scan_offer")


@public_codes.route("/q/<token>/offer")
def scan_offer(token: str) -> ResponseReturnValue:
    return _offer_page(token, SCAN_KINDS, "public_codes.scan_offer")


def _offer_page(code: str, kinds: frozenset[CodeKind], endpoint: str) -> ResponseReturnValue:
    row = find_active_code(code, kinds)
    if row is None:
        return _not_found()
    partner = row.partner
    language = current_language()
    region = partner.region
    region_name = (region.name_en if language == "en" else region.name_ru) if region else None
    languages = current_app.config.get("LANGUAGES", {})
    return _no_store(
        render_template(
            "codes/offer.html",
            partner=partner,
            region_name=region_name,
            language=language,
            languages=[
                (lang, info.get("name", lang), url_for(endpoint, **_arg(endpoint, code), _l_=lang))
                for lang, info in languages.items()
            ],
        )
    )


def _arg(endpoint: str, code: str) -> dict[str, Any]:
    return {"token": code} if endpoint.startswith("public_codes.scan") else {"code": code}


def _not_found() -> ResponseReturnValue:
    return _no_store(render_template("codes/not_found.html", language=current_language())), 404


def _no_store(body: str) -> Response:
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


__all__ = ["AttributionCodeView", "public_codes"]
