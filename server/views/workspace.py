"""The manager's workspace: rule builder, program versions, diffs, backtests, YAML.

Thin: each POST checks CSRF, calls one command (``server.programs.versioning``,
``server.campaigns.commands``) and maps its errors to an inline message or a flash.

Routes of :class:`ProgramWorkspaceView` (``/workspace``): ``/`` (programs and their
versions, YAML import), ``/version/<id>`` (rules in plain words, publish, backtest,
YAML view), ``/version/<id>/rule`` (the rule builder, GET and POST), POST
``/describe`` (JSON: the live plain-words sentence and inline errors),
``/version/<id>/export.yaml``, ``/diff?a=&b=``, POST ``/version/<id>/{publish,
new-draft,rollback,discard,yaml,delete-rule,move-rule,backtest}``, ``/backtest/<job>``
(JSON progress), ``/backtest/<job>/result``, ``/backtest/<job>.csv``.

Routes of :class:`CampaignWorkspaceView` (``/campaign-workspace``): ``/`` (campaigns
with budget state, the compose form), POST ``/compose``, ``/<id>`` (report and
budget), POST ``/<id>/budget``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import AppBuilder, BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from werkzeug.datastructures import MultiDict

from server.campaigns.budget import budget_state, budget_states
from server.campaigns.commands import (
    CampaignInvalid,
    compose_campaign,
    parse_amount,
    update_budget,
)
from server.campaigns.forms import campaign_from_form
from server.campaigns.models import Campaign, CampaignKind, CampaignStatus
from server.campaigns.report import campaign_report
from server.campaigns.templates import CAMPAIGN_TEMPLATES
from server.errors import CommandError
from server.extensions import db
from server.form_values import form_date
from server.i18n import current_language
from server.partners.models import Partner, Region
from server.programs import versioning
from server.programs.backtest import result_csv
from server.programs.commands import version_document, version_spec
from server.programs.diff import diff_programs
from server.programs.forms import (
    SCOPE_PREFIX,
    FieldIssue,
    RuleDraft,
    draft_from_form,
    form_fields,
    form_from_rule,
    parsed_rule,
    rule_issues,
)
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.queues import redis_connection
from server.rules.plain_words import describe_rule
from server.rules.program import SCOPE_LISTS, PartnerType, ProgramError
from server.rules.templates import default_catalogue
from server.tasks.backtest import enqueue_backtest
from server.views.forms import actor_id, csrf_token, require_csrf

#: labels of template parameters in the builder form
PARAM_LABELS = {
    "rate": _l("Rate, %"),
    "tiers": _l("Tiers"),
    "from": _l("From (month-to-date sales)"),
    "campaign": _l("Campaign"),
    "amount": _l("Amount"),
    "event_type": _l("Event type"),
    "action": _l("Action name"),
    "metric": _l("Metric"),
    "threshold": _l("Threshold"),
    "period": _l("Period"),
    "reward": _l("Reward"),
    "rates": _l("Rates by level, %"),
    "per": _l("Per amount"),
    "points": _l("Points"),
    "above": _l("Above amount"),
    "max_sales": _l("Max sales"),
    "within_hours": _l("Within hours"),
}
GROUP_LABELS = {
    "commission": _l("Commissions"),
    "bonus": _l("Bonuses"),
    "loyalty": _l("Loyalty"),
    "fraud": _l("Fraud holds"),
}
STATUS_LABELS = {
    VersionStatus.draft: _l("draft"),
    VersionStatus.published: _l("published"),
    VersionStatus.archived: _l("archived"),
}
PARTNER_TYPE_LABELS = {
    PartnerType.ONLINE_AFFILIATE.value: _l("Online affiliates"),
    PartnerType.OFFLINE_POINT.value: _l("Offline points"),
    PartnerType.AMBASSADOR.value: _l("Ambassadors"),
    PartnerType.COFACTOR.value: _l("Co-factors"),
}
CHANNEL_LABELS = {"online": _l("online"), "offline": _l("offline")}
CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.plan: _l("planned"),
    CampaignStatus.approved: _l("approved"),
    CampaignStatus.running: _l("running"),
    CampaignStatus.closed: _l("closed"),
}


def _campaign_kinds() -> dict[CampaignKind, str]:
    """Each campaign kind's title in the reader's language (from its template file)."""
    lang = current_language()
    return {kind: template.title_in(lang) for kind, template in CAMPAIGN_TEMPLATES.items()}


def _version(pk: int) -> ProgramVersion:
    version = db.session.get(ProgramVersion, pk)
    if version is None:
        abort(404)
    return version


#: the scope's multi-valued pickers (its dates are single values)
_PICKER_FIELDS = frozenset(SCOPE_PREFIX + name for name in SCOPE_LISTS)


def _form() -> dict[str, Any]:
    """The posted form with multi-valued pickers as lists."""
    out: dict[str, Any] = {}
    for key in request.form:
        values = request.form.getlist(key)
        out[key] = values if key in _PICKER_FIELDS else values[0]
    return out


def _pickers() -> dict[str, Any]:
    """Choices of the scope pickers: regions, channels, partner kinds, partners."""
    return {
        "regions": db.session.scalars(sa.select(Region.code).order_by(Region.code)).all(),
        "channels": CHANNEL_LABELS,
        "partner_types": PARTNER_TYPE_LABELS,
        "partners": db.session.execute(
            sa.select(Partner.code, Partner.name).order_by(Partner.code)
        ).all(),
        "partner_ids": {
            code: pid for code, pid in db.session.execute(sa.select(Partner.code, Partner.id))
        },
    }


def _issues_by_field(issues: list[FieldIssue], lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for issue in issues:
        out[issue.field] = (out[issue.field] + " " if issue.field in out else "") + issue.text(lang)
    return out


def _fetch_job(job_id: str) -> Job:
    try:
        job = Job.fetch(job_id, connection=redis_connection())
    except NoSuchJobError:
        abort(404)
    if job.func_name != "server.tasks.backtest.backtest_job":
        abort(404)
    return job


class ProgramWorkspaceView(BaseView):
    """Programs, versions and the rule builder."""

    route_base = "/workspace"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self) -> ResponseReturnValue:
        programs = db.session.scalars(sa.select(Program).order_by(Program.slug)).all()
        return self.render_template(
            "workspace/index.html",
            title=_("Programs workspace"),
            programs=programs,
            status_labels=STATUS_LABELS,
        )

    @expose("/version/<int:pk>")
    @has_access
    def version(self, pk: int) -> ResponseReturnValue:
        version = _version(pk)
        lang = current_language()
        catalogue = default_catalogue()
        rules = []
        yaml_text = ""
        try:
            spec = version_spec(version)
            yaml_text = versioning.export_yaml(version)
            for rule in spec.rules:
                sentence = describe_rule(rule, catalogue, lang, spec.currency)
                rules.append({"id": rule.id, "template": rule.template.value, "sentence": sentence})
        except ProgramError as error:
            flash(error.text(lang), "danger")
        groups: dict[str, list[Any]] = {}
        for template in catalogue.values():
            groups.setdefault(template.group, []).append(template)
        others = [v for v in version.program.versions if v.id != version.id]
        return self.render_template(
            "workspace/version.html",
            title=str(version),
            version=version,
            rules=rules,
            groups=groups,
            group_labels=GROUP_LABELS,
            status_labels=STATUS_LABELS,
            lang=lang,
            yaml_text=yaml_text,
            others=others,
            today=date.today().isoformat(),
            csrf=csrf_token(),
            # legal reads versions; the editing controls are for those who may use them
            editable=self.appbuilder.sm.has_access("can_rule", "ProgramWorkspaceView"),
        )

    def _render_rule_form(
        self,
        version: ProgramVersion,
        template_key: str,
        values: dict[str, Any],
        errors: dict[str, str],
        replaces: str | None,
        status: int = 200,
    ) -> ResponseReturnValue:
        catalogue = default_catalogue()
        lang = current_language()
        template = catalogue[template_key]
        sentence = ""
        if not errors:
            try:
                rule = parsed_rule(draft_from_form(values, catalogue), catalogue)
                sentence = describe_rule(rule, catalogue, lang, version.program.currency)
            except (ProgramError, KeyError):
                sentence = ""
        body = self.render_template(
            "workspace/rule_form.html",
            title=template.title[lang],
            version=version,
            rule_template=template,
            fields=form_fields(template, lang),
            labels=PARAM_LABELS,
            values=values,
            errors=errors,
            replaces=replaces,
            pickers=_pickers(),
            sentence=sentence,
            lang=lang,
        )
        return body, status

    @expose("/version/<int:pk>/rule", methods=["GET", "POST"])
    @has_access
    def rule(self, pk: int) -> ResponseReturnValue:
        version = _version(pk)
        if version.status is not VersionStatus.draft:
            flash(_("Only drafts change: make a new draft first."), "warning")
            return redirect(url_for(".version", pk=pk))
        catalogue = default_catalogue()
        replaces = request.values.get("replaces") or None
        if request.method == "GET":
            if replaces:
                entry = next(
                    (r for r in version_document(version)["rules"] if r["id"] == replaces), None
                )
                if entry is None:
                    abort(404)
                values = form_from_rule(entry)
            else:
                key = request.args.get("template", "")
                if key not in catalogue:
                    abort(404)
                count = len(version.rules) + 1
                values = {"template": key, "rule_id": f"{key.replace('_', '-')}-{count}"}
            return self._render_rule_form(version, values["template"], values, {}, replaces)
        require_csrf()
        values = _form()
        if values.get("template") not in catalogue:
            abort(400)
        draft = draft_from_form(values, catalogue)
        others = [r.rule_key for r in version.rules if r.rule_key != replaces]
        issues = rule_issues(draft, catalogue, other_rule_ids=others)
        lang = current_language()
        if issues:
            return self._render_rule_form(
                version, draft.template, values, _issues_by_field(issues, lang), replaces, 400
            )
        try:
            versioning.save_rule(pk, draft, actor_id(), replaces=replaces)
        except ProgramError as error:
            return self._render_rule_form(
                version, draft.template, values, {"id": error.text(lang)}, replaces, 400
            )
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".version", pk=pk))
        flash(_("Rule %(rule)s saved.", rule=draft.rule_id), "success")
        return redirect(url_for(".version", pk=pk))

    @expose("/describe", methods=["POST"])
    @has_access
    def describe(self) -> ResponseReturnValue:
        """The plain-words sentence and the inline errors for the form's current values."""
        catalogue = default_catalogue()
        values = _form()
        lang = values.get("lang") if values.get("lang") in ("ru", "en") else current_language()
        if values.get("template") not in catalogue:
            abort(400)
        draft: RuleDraft = draft_from_form(values, catalogue)
        issues = [i for i in rule_issues(draft, catalogue) if i.field != "id"]
        if issues:
            return jsonify(sentence=None, errors=_issues_by_field(issues, str(lang)))
        currency = None
        version = db.session.get(ProgramVersion, int(values.get("version_id") or 0))
        if version is not None:
            currency = version.program.currency
        rule = parsed_rule(draft, catalogue)
        return jsonify(sentence=describe_rule(rule, catalogue, str(lang), currency), errors={})

    def _command(self, pk: int, run: Any, done: str) -> ResponseReturnValue:
        require_csrf()
        try:
            result = run()
        except ProgramError as error:
            for issue in error.issues:
                flash(issue.text(current_language()), "danger")
            return redirect(url_for(".version", pk=pk))
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".version", pk=pk))
        flash(done, "success")
        return redirect(url_for(".version", pk=result.id if result is not None else pk))

    @expose("/version/<int:pk>/publish", methods=["POST"])
    @has_access
    def publish(self, pk: int) -> ResponseReturnValue:
        day = form_date(request.form.get("effective_from"))
        if day is None:
            require_csrf()
            flash(_("Choose the date the version takes effect."), "danger")
            return redirect(url_for(".version", pk=pk))
        return self._command(
            pk, lambda: versioning.publish(pk, day, actor_id()), _("Version published.")
        )

    @expose("/version/<int:pk>/new-draft", methods=["POST"])
    @has_access
    def new_draft(self, pk: int) -> ResponseReturnValue:
        return self._command(pk, lambda: versioning.new_draft(pk, actor_id()), _("Draft created."))

    @expose("/version/<int:pk>/rollback", methods=["POST"])
    @has_access
    def rollback(self, pk: int) -> ResponseReturnValue:
        return self._command(
            pk,
            lambda: versioning.rollback_to(pk, actor_id()),
            _("A draft copying this version was created: publish it to roll back."),
        )

    @expose("/version/<int:pk>/discard", methods=["POST"])
    @has_access
    def discard(self, pk: int) -> ResponseReturnValue:
        return self._command(
            pk, lambda: versioning.archive_draft(pk, actor_id()), _("Draft discarded.")
        )

    @expose("/version/<int:pk>/yaml", methods=["POST"])
    @has_access
    def save_yaml(self, pk: int) -> ResponseReturnValue:
        text = request.form.get("yaml", "")
        return self._command(
            pk, lambda: versioning.save_yaml(pk, text, actor_id()), _("Program saved.")
        )

    @expose("/version/<int:pk>/delete-rule", methods=["POST"])
    @has_access
    def delete_rule(self, pk: int) -> ResponseReturnValue:
        key = request.form.get("rule", "")
        return self._command(
            pk, lambda: versioning.delete_rule(pk, key, actor_id()), _("Rule deleted.")
        )

    @expose("/version/<int:pk>/move-rule", methods=["POST"])
    @has_access
    def move_rule(self, pk: int) -> ResponseReturnValue:
        key = request.form.get("rule", "")
        offset = -1 if request.form.get("direction") == "up" else 1
        return self._command(
            pk, lambda: versioning.move_rule(pk, key, offset, actor_id()), _("Rule moved.")
        )

    @expose("/import", methods=["POST"])
    @has_access
    def import_yaml(self) -> ResponseReturnValue:
        require_csrf()
        upload = request.files.get("file")
        text = upload.read().decode("utf-8", "replace") if upload else request.form.get("yaml", "")
        try:
            version = versioning.import_program_yaml(text, actor_id(), note=_("imported"))
        except ProgramError as error:
            for issue in error.issues:
                flash(issue.text(current_language()), "danger")
            return redirect(url_for(".index"))
        except CommandError as error:
            flash(str(error), "danger")
            return redirect(url_for(".index"))
        flash(_("Program imported as draft v%(number)s.", number=version.number), "success")
        return redirect(url_for(".version", pk=version.id))

    @expose("/version/<int:pk>/export.yaml")
    @has_access
    def export(self, pk: int) -> ResponseReturnValue:
        version = _version(pk)
        name = f"{version.program.slug}-v{version.number}.yaml"
        return Response(
            versioning.export_yaml(version),
            mimetype="application/x-yaml",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @expose("/diff")
    @has_access
    def diff(self) -> ResponseReturnValue:
        old = _version(request.args.get("a", 0, type=int))
        new = _version(request.args.get("b", 0, type=int))
        lang = current_language()
        changes = diff_programs(version_spec(old), version_spec(new), lang)
        return self.render_template(
            "workspace/diff.html", title=_("Differences"), old=old, new=new, diff=changes
        )

    @expose("/version/<int:pk>/backtest", methods=["POST"])
    @has_access
    def backtest(self, pk: int) -> ResponseReturnValue:
        require_csrf()
        _version(pk)
        start, end = form_date(request.form.get("start")), form_date(request.form.get("end"))
        if start is None or end is None or start > end:
            return jsonify(error=_("Choose a period: a start date on or before the end date.")), 400
        job = enqueue_backtest(pk, start, end)
        return jsonify(
            job=job.id,
            status_url=url_for(".backtest_status", job_id=job.id),
            result_url=url_for(".backtest_result", job_id=job.id),
        )

    @expose("/backtest/<job_id>")
    @has_access
    def backtest_status(self, job_id: str) -> ResponseReturnValue:
        job = _fetch_job(job_id)
        status = job.get_status()
        return jsonify(
            status=status.value if isinstance(status, JobStatus) else str(status),
            done=job.meta.get("done", 0),
            total=job.meta.get("total", 0),
        )

    @expose("/backtest/<job_id>/result")
    @has_access
    def backtest_result(self, job_id: str) -> ResponseReturnValue:
        job = _fetch_job(job_id)
        result = job.return_value()
        if result is None:
            abort(404)
        if request.args.get("partial"):
            return self.render_template(
                "workspace/backtest_result.html", result=result, job_id=job_id
            )
        return self.render_template(
            "workspace/backtest.html", title=_("Backtest"), result=result, job_id=job_id
        )

    @expose("/backtest/<job_id>.csv")
    @has_access
    def backtest_csv(self, job_id: str) -> ResponseReturnValue:
        job = _fetch_job(job_id)
        result = job.return_value()
        if result is None:
            abort(404)
        return Response(
            result_csv(result),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="backtest-{job_id}.csv"'},
        )


class CampaignWorkspaceView(BaseView):
    """Compose campaigns from templates, watch budgets, read reports."""

    route_base = "/campaign-workspace"
    default_view = "index"

    def _campaigns_page(
        self,
        values: MultiDict[str, str] | None = None,
        errors: dict[str, Any] | None = None,
        status: int = 200,
    ) -> ResponseReturnValue:
        """The list and the compose form (refilled with ``values``, ``errors`` inline)."""
        campaigns = db.session.scalars(
            sa.select(Campaign).order_by(Campaign.starts_on.desc())
        ).all()
        states = budget_states(db.session, campaigns)
        lang = current_language()
        body = self.render_template(
            "workspace/campaigns.html",
            title=_("Campaigns workspace"),
            campaigns=campaigns,
            states=states,
            kinds=_campaign_kinds(),
            statuses=CAMPAIGN_STATUS_LABELS,
            descriptions={k: t.describe(lang) for k, t in CAMPAIGN_TEMPLATES.items()},
            programs=db.session.scalars(sa.select(Program).order_by(Program.slug)).all(),
            pickers=_pickers(),
            values=values if values is not None else MultiDict(),
            errors=errors or {},
        )
        return body, status

    @expose("/")
    @has_access
    def index(self) -> ResponseReturnValue:
        return self._campaigns_page()

    @expose("/compose", methods=["POST"])
    @has_access
    def compose(self) -> ResponseReturnValue:
        require_csrf()
        try:
            composed = compose_campaign(campaign_from_form(request.form), actor_id())
        except CampaignInvalid as error:
            return self._campaigns_page(request.form, error.issues, 400)
        except ProgramError as error:
            return self._campaigns_page(request.form, {"form": error.text(current_language())}, 400)
        except CommandError as error:
            return self._campaigns_page(request.form, {"form": str(error)}, 400)
        for problem in composed.problems:
            flash(problem, "warning")
        flash(
            _(
                "Campaign created with its rule in draft v%(number)s: publish the draft to pay.",
                number=composed.draft.number,
            ),
            "success",
        )
        return redirect(url_for(".show", pk=composed.campaign.id))

    @expose("/<int:pk>")
    @has_access
    def show(self, pk: int) -> ResponseReturnValue:
        campaign = db.session.get(Campaign, pk)
        if campaign is None:
            abort(404)
        state = budget_state(db.session, campaign)
        return self.render_template(
            "workspace/campaign.html",
            title=campaign.title,
            campaign=campaign,
            state=state,
            report=campaign_report(db.session, campaign),
            kinds=_campaign_kinds(),
            statuses=CAMPAIGN_STATUS_LABELS,
            channels=CHANNEL_LABELS,
        )

    @expose("/<int:pk>/budget", methods=["POST"])
    @has_access
    def budget(self, pk: int) -> ResponseReturnValue:
        require_csrf()
        try:
            update_budget(pk, parse_amount(request.form.get("budget")), actor_id())
        except CommandError as error:
            flash(str(error), "danger")
        else:
            flash(_("Budget saved."), "success")
        return redirect(url_for(".show", pk=pk))


def register_workspace_views(builder: AppBuilder) -> None:
    """Add the workspace screens under the Programs menu."""
    builder.add_view(
        ProgramWorkspaceView,
        "Programs workspace",
        label=_l("Programs workspace"),
        icon="fa-magic",
        category="Programs",
        category_label=_l("Programs"),
    )
    builder.add_view(
        CampaignWorkspaceView,
        "Campaigns workspace",
        label=_l("Campaigns workspace"),
        icon="fa-bullhorn",
        category="Programs",
    )
