"""Contract templates (Legal's editor) and contracts. Thin: each action calls a command.

Routes (besides Flask-AppBuilder's list/show):

* ``/contracttemplateview/editor/<id>``: editor (GET), save (POST); ``/edit/<id>``
  leads there
* ``/contracttemplateview/preview/<id>``: live HTML preview as JSON (POST, CSRF header)
* ``/contracttemplateview/preview_pdf/<id>``: PDF preview on a chosen partner (POST)
* ``/contracttemplateview/publish/<id>`` (POST), ``/contracttemplateview/diff/<id>``
* ``/contracts/<id>/pdf`` and ``/contracts/<id>/scan``: downloads
* ``/contracts/<id>/send|sign|terminate|retry`` (POST)
* ``/contracts/generate/<partner_id>`` (GET confirm, POST create),
  ``/contracts/add`` (choose the partner, then create) and
  ``/contracts/generate-region`` (bulk)

Neither view has Flask-AppBuilder's add/edit forms: nothing stored is edited field by
field (see the classes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from jinja2 import TemplateError
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired

from server.documents.contracts import (
    TRANSITIONS,
    contract_pdf,
    contract_scan,
    create_contract,
    generate_region_contracts,
    mark_contract_sent,
    record_signed_contract,
    retry_render,
    terminate_contract,
)
from server.documents.models import (
    Contract,
    ContractStatus,
    ContractTemplate,
    RenderStatus,
)
from server.documents.pdf import DocumentRenderError, PdfOptions, html_to_pdf
from server.documents.preview import preview_data
from server.documents.rendering import preview_document
from server.documents.sandbox import TemplateIssue, TemplateRenderError, render_source
from server.documents.templates import (
    TemplateSaveError,
    assets_dir,
    check_template,
    diff_templates,
    publish_template,
    save_template,
    template_versions,
    variable_catalogue,
)
from server.errors import CommandError
from server.extensions import db
from server.i18n import current_language
from server.labels import value_label
from server.partners.models import Partner, Region
from server.tasks.documents import enqueue_contract_renders
from server.views.crud import NamedRowMessages
from server.views.forms import actor_id, run_command
from server.views.query_args import int_arg


class ActionForm(FlaskForm):
    """A form with only its CSRF token, for buttons that change state."""


class TemplateEditForm(FlaskForm):
    body_html = TextAreaField(_l("Template (HTML + Jinja2)"), validators=[DataRequired()])
    css = TextAreaField(_l("Print CSS"))


class PdfPreviewForm(TemplateEditForm):
    partner_id = SelectField(_l("Partner"), coerce=int, validate_choice=False)


class SignForm(FlaskForm):
    scan = FileField(_l("Signed scan (PDF, PNG, JPEG)"), validators=[FileRequired()])


class PartnerChoiceForm(FlaskForm):
    partner_id = SelectField(_l("Partner"), coerce=int, validators=[DataRequired()])


class RegionForm(FlaskForm):
    region = SelectField(_l("Region"), validate_choice=True)


def _partner_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(
        sa.select(Partner.id, Partner.code, Partner.name).order_by(Partner.code)
    )
    return [(0, "—")] + [(row.id, f"{row.code} · {row.name}") for row in rows]


def _issues_text(issues: list[TemplateIssue]) -> str:
    """The issues as one line each, "строка 3: …" in the user's language."""
    return "\n".join(
        _("line %(line)s: %(message)s", line=issue.line, message=issue.message)
        if issue.line
        else issue.message
        for issue in issues
    )


def _issues_json(issues: list[TemplateIssue]) -> list[dict[str, Any]]:
    # a limit's message is a lazy translation: read it now, in the user's language
    return [{"line": issue.line, "message": str(issue.message)} for issue in issues]


class ContractTemplateView(NamedRowMessages, ModelView):
    """Template versions; Legal edits, previews and publishes them.

    There is no field-by-field form: a version is changed only through the editor
    (validated, and a published version is frozen: the edit becomes the next draft) and
    its status only by publishing. ``/edit/<id>`` (the list's edit button) opens the
    editor; new templates come from the seed files.
    """

    datamodel = SQLAInterface(ContractTemplate)
    base_permissions = ["can_list", "can_show", "can_edit"]
    exclude_route_methods = {"add", "delete"}
    base_order = ("key", "asc")
    list_columns = [
        "key",
        "version",
        "kind",
        "language",
        "region_code",
        "partner_kind",
        "status",
        "created_at",
    ]
    show_columns = list_columns
    search_columns = ["key", "kind", "language", "status", "region_code", "partner_kind"]
    formatters_columns = {"language": value_label, "partner_kind": value_label}
    show_template = "documents/template_show.html"
    label_columns = {
        "key": _l("Key"),
        "version": _l("Version"),
        "kind": _l("Kind"),
        "language": _l("Language"),
        "region_code": _l("Region"),
        "partner_kind": _l("Partner kind"),
        "status": _l("Status"),
        "created_at": _l("Created"),
        "body_html": _l("Template (HTML + Jinja2)"),
        "css": _l("Print CSS"),
    }

    def _template(self, pk: int) -> ContractTemplate:
        return db.get_or_404(ContractTemplate, pk)

    def _editor(
        self, template: ContractTemplate, form: TemplateEditForm, issues: list[TemplateIssue]
    ) -> str:
        pdf_form = PdfPreviewForm(formdata=None, obj=template)
        pdf_form.partner_id.choices = _partner_choices()
        versions = template_versions(template.key)
        return self.render_template(
            "documents/template_editor.html",
            contract_template=template,
            form=form,
            pdf_form=pdf_form,
            publish_form=ActionForm(),
            issues=issues,
            variables=variable_catalogue().described(template.kind, current_language()),
            versions=versions,
            title=_("Edit %(name)s", name=str(template)),
        )

    @expose("/edit/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk: int) -> ResponseReturnValue:
        """The editor replaces Flask-AppBuilder's form (which would edit stored fields)."""
        return redirect(url_for(".editor", pk=pk))

    @expose("/editor/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def editor(self, pk: int) -> ResponseReturnValue:
        template = self._template(pk)
        form = TemplateEditForm(obj=template)
        if request.method == "POST" and form.validate_on_submit():
            try:
                saved = save_template(
                    pk, form.body_html.data or "", form.css.data or "", actor_id()
                )
            except TemplateSaveError as error:
                flash(_("Not saved: the template has errors."), "danger")
                # the editor again, with the reasons and the text as typed: a 422
                return self._editor(template, form, error.issues), 422
            else:
                if saved.id != pk:
                    flash(
                        _("Saved as a new draft, version %(version)s.", version=saved.version),
                        "info",
                    )
                else:
                    flash(_("Draft saved."), "success")
                return redirect(url_for(".editor", pk=saved.id))
        return self._editor(template, form, [])

    @expose("/preview/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def preview(self, pk: int) -> ResponseReturnValue:
        template = self._template(pk)
        body, css = request.form.get("body_html", ""), request.form.get("css", "")
        partner_id = request.form.get("partner_id", type=int) or None
        try:
            check_template(template.kind, body)
            data = preview_data(template, partner_id)
            html = render_source(body, data)
        except TemplateSaveError as error:
            return jsonify(issues=_issues_json(error.issues), html=None)
        except TemplateRenderError as error:
            return jsonify(issues=_issues_json([error.issue]), html=None)
        except (TemplateError, CommandError) as error:
            return jsonify(issues=[{"line": None, "message": str(error)}], html=None)
        return jsonify(issues=[], html=preview_document(html, css, template.language))

    @expose("/preview_pdf/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def preview_pdf(self, pk: int) -> ResponseReturnValue:
        template = self._template(pk)
        form = PdfPreviewForm()
        form.partner_id.choices = _partner_choices()
        if not form.validate_on_submit():
            abort(400)
        try:
            check_template(template.kind, form.body_html.data or "")
            data = preview_data(template, form.partner_id.data or None)
            html = render_source(form.body_html.data or "", data)
            pdf = html_to_pdf(html, form.css.data or "", PdfOptions(assets_dir()))
        except TemplateSaveError as error:
            return _text_error(_("The template has errors:") + "\n" + _issues_text(error.issues))
        except (TemplateError, CommandError, DocumentRenderError) as error:
            return _text_error(str(error))
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{template.key}-preview.pdf"'
        return response

    @expose("/publish/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def publish(self, pk: int) -> ResponseReturnValue:
        if not ActionForm().validate_on_submit():
            abort(400)
        try:
            template = publish_template(pk, actor_id())
        except TemplateSaveError as error:
            flash(_("Not published: %(error)s", error=_issues_text(error.issues)), "danger")
        except CommandError as error:
            flash(str(error), "danger")
        else:
            flash(_("Published %(name)s.", name=str(template)), "success")
        return redirect(url_for(".editor", pk=pk))

    @expose("/diff/<int:pk>")
    @has_access
    @permission_name("show")
    def diff(self, pk: int) -> ResponseReturnValue:
        template = self._template(pk)
        other_id = int_arg("against")
        versions = template_versions(template.key)
        older = [v for v in versions if v.version < template.version]
        other = db.session.get(ContractTemplate, other_id) if other_id else None
        if other is None and older:
            other = older[0]
        if other is None or other.key != template.key:
            flash(_("No other version to compare with."), "info")
            return redirect(url_for(".editor", pk=pk))
        old, new = (other, template) if other.version < template.version else (template, other)
        return self.render_template(
            "documents/template_diff.html",
            contract_template=template,
            diff=diff_templates(old, new),
            versions=versions,
            title=_("Changes: %(old)s → %(new)s", old=str(old), new=str(new)),
        )


def _text_error(message: str) -> Response:
    return Response(message, status=422, mimetype="text/plain")


class ContractView(NamedRowMessages, ModelView):
    """Partner contracts: generate, download, send, record the signature, terminate.

    A contract is never edited field by field: its number, snapshot, PDF and hash are
    fixed when it is generated and rendered, and its status moves only through the
    commands on its page. So Flask-AppBuilder's edit form (and its file download) is not
    routed; ``can_add`` and ``can_edit`` are the permissions of generating and of those
    commands, and ``/add`` (the list's add button) generates a contract for a chosen
    partner.
    """

    route_base = "/contracts"
    datamodel = SQLAInterface(Contract)
    base_permissions = ["can_list", "can_show", "can_download", "can_add", "can_edit"]
    exclude_route_methods = {"edit", "delete", "download"}
    base_order = ("id", "desc")
    list_columns = ["number", "partner", "status", "render_status", "created_at", "signed_at"]
    show_columns = [
        "number",
        "partner",
        "template",
        "status",
        "render_status",
        "sha256",
        "error",
        "created_at",
        "signed_at",
        "terminated_at",
    ]
    search_columns = ["number", "partner", "status", "render_status"]
    show_template = "documents/contract_show.html"
    label_columns = {
        "number": _l("Number"),
        "partner": _l("Partner"),
        "template": _l("Template"),
        "status": _l("Status"),
        "render_status": _l("PDF"),
        "sha256": _l("SHA-256 of the PDF"),
        "error": _l("Error"),
        "created_at": _l("Created"),
        "signed_at": _l("Signed"),
        "terminated_at": _l("Terminated"),
    }

    def _contract(self, pk: int) -> Contract:
        return db.get_or_404(Contract, pk)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> ResponseReturnValue:
        contract = self._contract(int(pk))
        widgets = self._show(int(pk))
        return self.render_template(
            self.show_template,
            pk=int(pk),
            title=self.show_title,
            widgets=widgets,
            related_views=self._related_views,
            contract=contract,
            allowed=TRANSITIONS[contract.status],
            statuses=ContractStatus,
            rendered=contract.render_status is RenderStatus.rendered,
            failed=contract.render_status is RenderStatus.failed,
            action_form=ActionForm(),
            sign_form=SignForm(),
        )

    @expose("/<int:pk>/pdf")
    @has_access
    @permission_name("download")
    def pdf(self, pk: int) -> ResponseReturnValue:
        try:
            path, name = contract_pdf(pk)
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".show", pk=pk))
        return send_file(path, mimetype="application/pdf", download_name=name, as_attachment=True)

    @expose("/<int:pk>/scan")
    @has_access
    @permission_name("download")
    def scan(self, pk: int) -> ResponseReturnValue:
        try:
            path, name = contract_scan(pk)
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".show", pk=pk))
        return send_file(path, download_name=name, as_attachment=True)

    def _run_command(
        self, pk: int, run: Callable[[int, int | None], object], done: str
    ) -> ResponseReturnValue:
        if not ActionForm().validate_on_submit():
            abort(400)
        return run_command(lambda: run(pk, actor_id()), done, url_for(".show", pk=pk))

    @expose("/<int:pk>/send", methods=["POST"])
    @has_access
    @permission_name("edit")
    def send(self, pk: int) -> ResponseReturnValue:
        return self._run_command(pk, mark_contract_sent, _("Marked as sent."))

    @expose("/<int:pk>/terminate", methods=["POST"])
    @has_access
    @permission_name("edit")
    def terminate(self, pk: int) -> ResponseReturnValue:
        return self._run_command(pk, terminate_contract, _("Contract terminated."))

    @expose("/<int:pk>/retry", methods=["POST"])
    @has_access
    @permission_name("edit")
    def retry(self, pk: int) -> ResponseReturnValue:
        def retry_and_queue(contract_id: int, actor: int | None) -> None:
            retry_render(contract_id, actor)
            enqueue_contract_renders([contract_id])

        return self._run_command(pk, retry_and_queue, _("Render queued again."))

    @expose("/<int:pk>/sign", methods=["POST"])
    @has_access
    @permission_name("edit")
    def sign(self, pk: int) -> ResponseReturnValue:
        form = SignForm()
        if not form.validate_on_submit():
            flash(_("Choose the signed scan to upload."), "danger")
            return redirect(url_for(".show", pk=pk))
        upload = form.scan.data
        try:
            record_signed_contract(pk, upload.filename or "", upload.read(), actor_id())
        except CommandError as error:
            flash(str(error), "danger")
        else:
            flash(_("Signed scan stored; the contract is signed."), "success")
        return redirect(url_for(".show", pk=pk))

    def _create(self, partner_id: int) -> ResponseReturnValue | None:
        """Generate a partner's contract and go to it; ``None`` (with the error flashed)
        if it could not be generated."""
        try:
            contract_id = create_contract(partner_id, actor_id())
        except CommandError as error:
            flash(str(error), "danger")
            return None
        enqueue_contract_renders([contract_id])
        flash(_("Contract created; its PDF is being rendered."), "success")
        return redirect(url_for(".show", pk=contract_id))

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self) -> ResponseReturnValue:
        """The list's add button: choose a partner (GET), then create and queue (POST)."""
        form = PartnerChoiceForm()
        form.partner_id.choices = _partner_choices()[1:]
        if request.method == "POST" and form.validate_on_submit():
            created = self._create(form.partner_id.data or 0)
            if created is not None:
                return created
        return self.render_template(
            "documents/contract_generate.html",
            partner=None,
            form=form,
            title=_("New contract"),
        )

    @expose("/generate/<int:partner_id>", methods=["GET", "POST"])
    @has_access
    @permission_name("add")
    def generate(self, partner_id: int) -> ResponseReturnValue:
        """Link target for a partner's page: confirm (GET), then create and queue (POST)."""
        partner = db.get_or_404(Partner, partner_id)
        form = ActionForm()
        if request.method == "POST":
            if not form.validate_on_submit():
                abort(400)
            created = self._create(partner_id)
            if created is not None:
                return created
        return self.render_template(
            "documents/contract_generate.html",
            partner=partner,
            form=form,
            title=_("New contract for %(partner)s", partner=str(partner)),
        )

    @expose("/generate-region", methods=["GET", "POST"])
    @has_access
    @permission_name("add")
    def generate_region(self) -> ResponseReturnValue:
        form = RegionForm()
        form.region.choices = [
            (code, code)
            for code in db.session.scalars(sa.select(Region.code).order_by(Region.code))
        ]
        if request.method == "POST" and form.validate_on_submit():
            try:
                ids = generate_region_contracts(form.region.data or "", actor_id())
            except CommandError as error:
                flash(str(error), "danger")
            else:
                enqueue_contract_renders(ids)
                flash(_("%(count)s contracts created and queued.", count=len(ids)), "success")
                return redirect(url_for(".list"))
        return self.render_template(
            "documents/contract_generate.html",
            partner=None,
            form=form,
            title=_("Contracts for a region"),
        )


__all__ = ["ContractTemplateView", "ContractView"]
