"""Workflow screens: boards, an instance's timeline, the diagram, the editor and the
migration of running instances. Thin: each POST checks CSRF, calls one command and maps
its errors to a flash message.

Routes of :class:`WorkflowBoardView` (``/workflows``): ``/`` (every workflow),
``/board/<key>``, ``/diagram/<definition_id>.svg``, ``/instance/<id>`` (timeline),
``/partner/<id>`` (a partner's latest instance), POST ``/start``, ``/fire/<id>``,
``/retry/<id>``, ``/evidence/<id>``.

Routes of :class:`WorkflowEditorView` (``/workflow-editor``): ``/`` (definitions),
``/edit/<definition_id>`` (form and YAML views, GET and POST), ``/new``,
POST ``/publish/<definition_id>``, ``/migrate/<definition_id>`` (preview, then apply).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_login import current_user

from server.campaigns.models import Campaign, CampaignStatus
from server.errors import CommandError
from server.extensions import db
from server.i18n import current_language
from server.partners.models import Partner, PartnerStatus
from server.security.roles import ROLE_PERMISSIONS, Role
from server.tasks.workflows import queue_instance_actions
from server.views.forms import actor_id, csrf_token
from server.workflows.catalogue import ROLE_TITLES
from server.workflows.definitions import (
    migrate_instances,
    preview_migration,
    publish_definition,
    save_definition,
)
from server.workflows.diagram import render_svg
from server.workflows.editor import (
    EditorRows,
    StateRow,
    TransitionRow,
    rows_from_form,
    rows_from_yaml,
    yaml_from_rows,
)
from server.workflows.engine import (
    OPEN_STATUSES,
    StaleInstance,
    TransitionRefused,
    UploadedFile,
    fire_transition,
    record_evidence,
    retry_actions,
    start_workflow,
)
from server.workflows.models import (
    DefinitionStatus,
    EvidenceKind,
    WorkflowDefinition,
    WorkflowInstance,
)
from server.workflows.queries import (
    board,
    definitions_overview,
    evidence_choices,
    instances_of_subject,
    timeline,
)
from server.workflows.spec import MIGRATE_TRIGGER, START_TRIGGER
from server.workflows.spec_cache import spec_of
from server.workflows.validation import DefinitionInvalid, DefinitionIssue, check_definition

NEW_TEMPLATE = """schema_version: 2
key: my-workflow
subject_type: partner
title: {ru: Новый процесс, en: New workflow}
initial: start
states:
  start:
    title: {ru: Начало, en: Start}
  done:
    title: {ru: Готово, en: Done}
    final: true
transitions:
  - trigger: finish
    title: {ru: Завершить, en: Finish}
    from: start
    to: done
    roles: [Manager]
"""


def _roles() -> set[str]:
    return {role.name for role in current_user.roles} if current_user.is_authenticated else set()


#: the form where each subject's fields are filled in
SUBJECT_EDIT_VIEWS = {"partner": "PartnerView", "campaign": "CampaignView"}


def roles_allowed(view: str, permission: str) -> list[str]:
    """The roles whose permissions cover ``permission`` on ``view`` (who can do it)."""
    return [
        role
        for role, rules in ROLE_PERMISSIONS.items()
        if any(re.match(views, view) and re.match(names, permission) for views, names in rules)
    ]


def _back(default: str) -> ResponseReturnValue:
    """Redirect to the posted ``next`` if it is a path on this site, else ``default``."""
    target = request.form.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return redirect(target)
    return redirect(default)


class WorkflowBoardView(BaseView):
    """Boards per workflow, instance timelines and the buttons that move cards."""

    route_base = "/workflows"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self) -> ResponseReturnValue:
        language = current_language()
        busy = sa.select(WorkflowInstance.subject_id).where(
            WorkflowInstance.subject_type == "partner",
            WorkflowInstance.status.in_(OPEN_STATUSES),
        )
        partners = db.session.scalars(
            sa.select(Partner)
            .where(Partner.status == PartnerStatus.onboarding, Partner.id.not_in(busy))
            .order_by(Partner.code)
        ).all()
        busy_campaigns = sa.select(WorkflowInstance.subject_id).where(
            WorkflowInstance.subject_type == "campaign",
            WorkflowInstance.status.in_(OPEN_STATUSES),
        )
        campaigns = db.session.scalars(
            sa.select(Campaign)
            .where(Campaign.status != CampaignStatus.closed, Campaign.id.not_in(busy_campaigns))
            .order_by(Campaign.slug)
        ).all()
        return self.render_template(
            "workflows/index.html",
            definitions=definitions_overview(language),
            partners=partners,
            campaigns=campaigns,
            csrf=csrf_token(),
            title=_("Onboarding boards"),
        )

    @expose("/board/<key>")
    @has_access
    def board(self, key: str) -> ResponseReturnValue:
        data = board(key, _roles(), current_language())
        if data is None:
            abort(404)
        return self.render_template(
            "workflows/board.html",
            board=data,
            language=current_language(),
            csrf=csrf_token(),
            editor=self.appbuilder.sm.has_access("can_edit", "WorkflowEditorView"),
            title=data.spec.title.get(current_language()),
        )

    @expose("/diagram/<int:pk>.svg")
    @has_access
    def diagram(self, pk: int) -> ResponseReturnValue:
        definition = db.get_or_404(WorkflowDefinition, pk)
        svg = render_svg(spec_of(definition), current_language(), request.args.get("state"))
        return Response(svg, mimetype="image/svg+xml")

    @expose("/instance/<int:pk>")
    @has_access
    def instance(self, pk: int) -> ResponseReturnValue:
        data = timeline(pk, _roles())
        if data is None:
            abort(404)
        language = current_language()
        sm = self.appbuilder.sm
        edit_view = SUBJECT_EDIT_VIEWS[data.instance.subject_type]
        signers = roles_allowed("ContractView", "can_edit")
        return self.render_template(
            "workflows/instance.html",
            tl=data,
            language=language,
            diagram=render_svg(data.spec, language, data.instance.state),
            start_trigger=START_TRIGGER,
            migrate_trigger=MIGRATE_TRIGGER,
            csrf=csrf_token(),
            edit_url=(
                url_for(f"{edit_view}.edit", pk=data.instance.subject_id)
                if sm.has_access("can_edit", edit_view)
                else None
            ),
            contracts_open=sm.has_access("can_show", "ContractView"),
            contract_signers=", ".join(str(ROLE_TITLES.get(r, r)) for r in signers),
            may_approve=bool(_roles() & {Role.MANAGER.value, Role.ADMIN.value}),
            title=_("Workflow of %(subject)s", subject=data.label),
        )

    @expose("/partner/<int:partner_id>")
    @has_access
    def partner(self, partner_id: int) -> ResponseReturnValue:
        instances = instances_of_subject("partner", partner_id)
        if not instances:
            flash(_("This partner has no workflow yet; start one here."), "info")
            return redirect(url_for(".index"))
        return redirect(url_for(".instance", pk=instances[0].id))

    @expose("/start", methods=["POST"])
    @has_access
    def start(self) -> ResponseReturnValue:
        subject_type = request.form.get("subject_type", "partner")
        subject_id = request.form.get("subject_id", type=int)
        if subject_type not in ("partner", "campaign") or subject_id is None:
            abort(400)
        try:
            instance = start_workflow(subject_type, subject_id, actor_id())
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".index"))
        queue_instance_actions(instance.id)
        flash(_("Workflow started."), "success")
        return redirect(url_for(".board", key=instance.definition.key))

    @expose("/fire/<int:pk>", methods=["POST"])
    @has_access
    def fire(self, pk: int) -> ResponseReturnValue:
        try:
            fire_transition(
                pk,
                request.form.get("trigger", ""),
                actor_id(),
                comment=request.form.get("comment") or None,
                expected_state=request.form.get("expected_state") or None,
            )
        except StaleInstance as error:
            flash(str(error), "warning")
        except TransitionRefused as error:
            flash(_("Not moved: %(reasons)s", reasons=str(error)), "danger")
        except CommandError as error:
            flash(str(error), "danger")
        else:
            queue_instance_actions(pk)
            flash(_("Moved."), "success")
        return _back(url_for(".instance", pk=pk))

    @expose("/retry/<int:pk>", methods=["POST"])
    @has_access
    def retry(self, pk: int) -> ResponseReturnValue:
        try:
            retry_actions(pk, actor_id())
        except CommandError as error:
            flash(str(error), "danger")
        else:
            queue_instance_actions(pk)
            flash(_("The actions are queued again."), "success")
        return _back(url_for(".instance", pk=pk))

    @expose("/evidence/<int:pk>", methods=["POST"])
    @has_access
    def evidence(self, pk: int) -> ResponseReturnValue:
        try:
            kind = EvidenceKind(request.form.get("kind", ""))
        except ValueError:
            abort(400)
        instance = db.get_or_404(WorkflowInstance, pk)
        name = request.form.get("name", "")
        if name not in dict(evidence_choices(spec_of(instance.definition))[kind]):
            abort(
                400,
                description=_("Choose the item from the list; this workflow does not ask for it."),
            )
        upload = request.files.get("file")
        try:
            record_evidence(
                pk,
                kind,
                name,
                actor_id(),
                UploadedFile(upload.filename or "", upload.read()) if upload else None,
                request.form.get("comment") or None,
            )
        except CommandError as error:
            flash(str(error), "danger")
        else:
            flash(_("Recorded."), "success")
        return redirect(url_for(".instance", pk=pk) + "#pf-next")


def _issue_rows(issues: list[DefinitionIssue]) -> list[dict[str, Any]]:
    return [
        {"line": issue.line, "state": issue.state, "message": str(issue.message)}
        for issue in issues
    ]


def _blank_rows(rows: EditorRows) -> EditorRows:
    """The rows plus one empty state and one empty transition to add."""
    return EditorRows(
        rows.title_ru,
        rows.title_en,
        rows.initial,
        [*rows.states, StateRow("", "", "", "", "", False, "")],
        [*rows.transitions, TransitionRow("", "", "", "", "", "Manager", "")],
    )


class WorkflowEditorView(BaseView):
    """Definitions: form and YAML editing (validated), publishing, migration."""

    route_base = "/workflow-editor"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self) -> ResponseReturnValue:
        return self.render_template(
            "workflows/editor_index.html",
            definitions=definitions_overview(current_language()),
            title=_("Workflow editor"),
        )

    def _editor(
        self,
        definition: WorkflowDefinition | None,
        text: str,
        issues: list[DefinitionIssue],
        mode: str,
    ) -> ResponseReturnValue:
        rows = rows_from_yaml(text)
        svg = None
        if not issues:
            spec, _issues = check_definition(text, "preview")
            svg = render_svg(spec, current_language()) if spec is not None else None
        return self.render_template(
            "workflows/editor.html",
            definition=definition,
            source=text,
            rows=_blank_rows(rows) if rows is not None else None,
            issues=_issue_rows(issues),
            mode=mode,
            diagram=svg,
            csrf=csrf_token(),
            title=_("Edit %(name)s", name=str(definition)) if definition else _("New workflow"),
        )

    def _save(self, definition: WorkflowDefinition | None) -> ResponseReturnValue:
        mode = request.form.get("mode", "yaml")
        original = definition.source_yaml if definition is not None else NEW_TEMPLATE
        if mode == "form":
            text = yaml_from_rows(original, rows_from_form(request.form))
        else:
            text = request.form.get("source_yaml", "")
        try:
            saved = save_definition(definition.id if definition else None, text, actor_id())
        except DefinitionInvalid as error:
            flash(_("Not saved: the definition has errors."), "danger")
            return self._editor(definition, text, error.issues, "yaml")
        except CommandError as error:
            flash(str(error), "danger")
            return self._editor(definition, text, [], mode)
        flash(_("Saved as draft version %(version)s.", version=saved.version), "success")
        return redirect(url_for(".edit", pk=saved.id))

    @expose("/edit/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk: int) -> ResponseReturnValue:
        definition = db.get_or_404(WorkflowDefinition, pk)
        if request.method == "POST":
            return self._save(definition)
        _spec, issues = check_definition(definition.source_yaml, str(definition))
        return self._editor(definition, definition.source_yaml, issues, "form")

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self) -> ResponseReturnValue:
        if request.method == "POST":
            return self._save(None)
        return self._editor(None, NEW_TEMPLATE, [], "yaml")

    @expose("/publish/<int:pk>", methods=["POST"])
    @has_access
    def publish(self, pk: int) -> ResponseReturnValue:
        try:
            definition = publish_definition(pk, actor_id())
        except DefinitionInvalid as error:
            flash(_("Not published: the definition has errors."), "danger")
            for issue in error.issues:
                flash(str(issue), "danger")
            return redirect(url_for(".edit", pk=pk))
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".edit", pk=pk))
        flash(_("Version %(version)s is published.", version=definition.version), "success")
        return redirect(url_for(".migrate", pk=pk))

    @expose("/migrate/<int:pk>", methods=["GET", "POST"])
    @has_access
    def migrate(self, pk: int) -> ResponseReturnValue:
        definition = db.get_or_404(WorkflowDefinition, pk)
        spec = spec_of(definition)
        mapping = {
            key[len("map-") :]: value
            for key, value in request.values.items()
            if key.startswith("map-") and value
        }
        if request.method == "POST" and request.form.get("apply"):
            try:
                moved = migrate_instances(pk, mapping, actor_id())
            except CommandError as error:
                flash(str(error), "danger")
            else:
                flash(_("%(count)s instances moved.", count=len(moved)), "success")
                return redirect(url_for("WorkflowBoardView.board", key=definition.key))
        landings = preview_migration(pk, mapping)
        unknown = sorted({landing.from_state for landing in landings if landing.remapped})
        return self.render_template(
            "workflows/migrate.html",
            definition=definition,
            spec=spec,
            landings=landings,
            unknown_states=unknown,
            mapping=mapping,
            language=current_language(),
            published=definition.status is DefinitionStatus.published,
            csrf=csrf_token(),
            title=_("Move running instances to %(name)s", name=str(definition)),
        )
