"""The manager's workspace: rule builder, program versions, diffs, backtests, YAML.

Thin: each POST checks CSRF, calls one command (``server.programs.commands``) and maps
its errors to an inline message or a flash. The campaigns workspace is in
:mod:`server.views.campaigns`.

Routes of :class:`ProgramWorkspaceView` (``/workspace``): ``/`` (programs and their
versions, YAML import), ``/new`` (GET and POST: a new program and its first draft),
``/version/<id>`` (rules in plain words, publish, backtest,
YAML view), ``/version/<id>/rule`` (the rule builder, GET and POST), POST
``/describe`` (JSON: the live plain-words sentence and inline errors),
``/version/<id>/export.yaml``, ``/diff?a=&b=``, POST ``/version/<id>/{publish,
new-draft,rollback,discard,yaml,delete-rule,move-rule,backtest}``, ``/backtest/<job>``
(JSON progress), ``/backtest/<job>/result``, ``/backtest/<job>.csv``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from server.campaigns.queries import campaigns_by_program
from server.errors import CommandError
from server.extensions import db
from server.form_values import form_date
from server.i18n import current_language
from server.labels import EMPTY, KEY_LABELS
from server.partners.models import Partner, Region
from server.partners.queries import partner_tags
from server.programs import commands as program_commands
from server.programs.backtest import result_csv
from server.programs.diff import diff_programs
from server.programs.forms import (
    ENROLMENT_FIELDS,
    SCOPE_PREFIX,
    FieldIssue,
    RuleDraft,
    draft_from_form,
    enrolment_from_form,
    form_fields,
    form_from_rule,
    parsed_rule,
    rule_issues,
)
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.programs.queries import (
    author_name,
    deployment_currencies,
    open_draft,
    partner_enrolled,
    partners_of_program,
    version_document,
    version_enrolment,
    version_in_force,
    version_spec,
)
from server.programs.slugs import MAX_SLUG_LENGTH, SUGGESTED_LENGTH, TRANSLITERATION
from server.programs.starters import PROGRAM_STARTERS
from server.queues import REDIS_ERRORS, redis_connection
from server.rules.plain_words import describe_enrolment, describe_rule
from server.rules.program import DEFAULT_CURRENCY, SCOPE_LISTS, PartnerType, ProgramError
from server.rules.templates import default_catalogue
from server.tasks.backtest import enqueue_backtest
from server.views.forms import actor_id, csrf_token, run_command
from server.views.query_args import int_arg

#: why a backtest cannot be started or read while Redis is down (the jobs live there)
QUEUE_UNAVAILABLE = _l("The job queue is unavailable; try again in a minute.")

GROUP_LABELS = {
    "commission": _l("Commissions"),
    "bonus": _l("Bonuses"),
    "loyalty": _l("Loyalty"),
    "fraud": _l("Fraud holds"),
}
PARTNER_TYPE_LABELS = {
    PartnerType.ONLINE_AFFILIATE.value: _l("Online affiliates"),
    PartnerType.OFFLINE_POINT.value: _l("Offline points"),
    PartnerType.AMBASSADOR.value: _l("Ambassadors"),
    PartnerType.COFACTOR.value: _l("Co-factors"),
}
CHANNEL_LABELS = {"online": _l("online"), "offline": _l("offline")}


def _version(pk: int) -> ProgramVersion:
    return db.get_or_404(ProgramVersion, pk)


#: the fields of the "New program" form
_NEW_PROGRAM_FIELDS = ("title", "slug", "currency", "start", "copy_of")

#: the scope's multi-valued pickers (its dates are single values)
_PICKER_FIELDS = frozenset(SCOPE_PREFIX + name for name in SCOPE_LISTS)


def _form() -> dict[str, Any]:
    """The posted form with multi-valued pickers as lists."""
    out: dict[str, Any] = {}
    for key in request.form:
        values = request.form.getlist(key)
        out[key] = values if key in _PICKER_FIELDS else values[0]
    return out


def scope_pickers() -> dict[str, Any]:
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


def enrolment_pickers() -> dict[str, Any]:
    """Choices of the enrolment editor: regions and partners by their names, partner
    types in words, the tags partners carry."""
    return {
        "regions": [
            (region.code, str(region))
            for region in db.session.scalars(sa.select(Region).order_by(Region.code))
        ],
        "partner_types": list(PARTNER_TYPE_LABELS.items()),
        "tags": [(tag, tag) for tag in partner_tags()],
        "partners": [
            (partner.code, f"{partner.name} ({partner.code})")
            for partner in db.session.scalars(sa.select(Partner).order_by(Partner.name))
        ],
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
    except REDIS_ERRORS:
        abort(503, description=str(QUEUE_UNAVAILABLE))
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
        campaigns = campaigns_by_program()
        return self.render_template(
            "workspace/index.html",
            title=_("Programs workspace"),
            programs=[p for p in programs if p.id not in campaigns],
            campaign_programs=[(p, campaigns[p.id]) for p in programs if p.id in campaigns],
            can_create=self.appbuilder.sm.has_access("can_new_program", "ProgramWorkspaceView"),
        )

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new_program(self) -> ResponseReturnValue:
        """The "New program" form; its POST creates the program and its first draft and
        opens the draft in the rule builder."""
        if request.method == "GET":
            currencies = deployment_currencies()
            values = {
                "currency": currencies[0] if currencies else DEFAULT_CURRENCY,
                "start": program_commands.START_EMPTY,
            }
            return self._render_new_program(values, {})
        values = {key: request.form.get(key, "") for key in _NEW_PROGRAM_FIELDS}
        # one group of radio buttons: "empty", "copy" (with the program picked in
        # copy_of) or "starter:<key>", one per starter program
        start, _colon, starter = values["start"].partition(":")
        new = program_commands.NewProgram(
            title=values["title"],
            slug=values["slug"],
            currency=values["currency"],
            start=start,
            copy_of=values["copy_of"] or None,
            starter=starter or None,
        )
        try:
            draft = program_commands.create_program(new, actor_id())
        except program_commands.NewProgramError as error:
            return self._render_new_program(values, {error.field: str(error)}, 400)
        except CommandError as error:
            return self._render_new_program(values, {"form": str(error)}, 400)
        flash(
            _(
                "Program %(title)s created: add its rules and choose who takes part.",
                title=draft.program.title,
            ),
            "success",
        )
        return redirect(url_for(".version", pk=draft.id))

    def _render_new_program(
        self, values: dict[str, str], errors: dict[str, str], status: int = 200
    ) -> ResponseReturnValue:
        lang = current_language()
        campaigns = campaigns_by_program()  # a campaign's own program is not a model
        programs = [
            program
            for program in db.session.scalars(
                sa.select(Program).where(Program.versions.any()).order_by(Program.title)
            )
            if program.id not in campaigns
        ]
        currencies = deployment_currencies()
        body = self.render_template(
            "workspace/new_program.html",
            title=_("New program"),
            values=values,
            errors=errors,
            starters=[
                (key, starter.title_in(lang), starter.describe(lang))
                for key, starter in PROGRAM_STARTERS.items()
            ],
            programs=programs,
            deployment_currency=currencies[0] if len(currencies) == 1 else None,
            transliteration=TRANSLITERATION,
            suggested_length=SUGGESTED_LENGTH,
            max_slug_length=MAX_SLUG_LENGTH,
        )
        return body, status

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
            yaml_text = program_commands.export_yaml(version)
            for rule in spec.rules:
                sentence = describe_rule(rule, catalogue, lang, spec.currency)
                rules.append({"id": rule.id, "template": rule.template.value, "sentence": sentence})
        except ProgramError as error:
            flash(error.text(lang), "danger")
        groups: dict[str, list[Any]] = {}
        for template in catalogue.values():
            groups.setdefault(template.group, []).append(template)
        others = [v for v in version.program.versions if v.id != version.id]
        # one open draft per program: a published version's page points to it
        draft = None if version.status is VersionStatus.draft else open_draft(version.program_id)
        return self.render_template(
            "workspace/version.html",
            open_draft=draft,
            open_draft_author=author_name(draft) if draft is not None else None,
            title=str(version),
            version=version,
            rules=rules,
            groups=groups,
            group_labels=GROUP_LABELS,
            lang=lang,
            yaml_text=yaml_text,
            others=others,
            today=date.today().isoformat(),
            csrf=csrf_token(),
            # legal reads versions; the editing controls are for those who may use them
            editable=self.appbuilder.sm.has_access("can_rule", "ProgramWorkspaceView"),
            enrolment=version_enrolment(version),
            enrolment_words=describe_enrolment(version_enrolment(version), lang),
            enrolled_count=sum(
                partner_enrolled(version_enrolment(version), partner)
                for partner in db.session.scalars(sa.select(Partner))
            ),
            enrolment_pickers=enrolment_pickers(),
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
            labels=KEY_LABELS,
            values=values,
            errors=errors,
            replaces=replaces,
            pickers=scope_pickers(),
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
            program_commands.save_rule(pk, draft, actor_id(), replaces=replaces)
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

    def _command(
        self, pk: int, run: Callable[[], ProgramVersion | None], done: str
    ) -> ResponseReturnValue:
        return run_command(
            run,
            done,
            url_for(".version", pk=pk),
            lambda result: url_for(".version", pk=result.id if result is not None else pk),
        )

    @expose("/version/<int:pk>/publish", methods=["POST"])
    @has_access
    def publish(self, pk: int) -> ResponseReturnValue:
        day = form_date(request.form.get("effective_from"))
        if day is None:
            flash(_("Choose the date the version takes effect."), "danger")
            return redirect(url_for(".version", pk=pk))
        return self._command(
            pk,
            lambda: program_commands.publish_version(pk, day, actor_id()),
            _("Version published."),
        )

    @expose("/version/<int:pk>/enrolment", methods=["POST"])
    @has_access
    def enrolment(self, pk: int) -> ResponseReturnValue:
        """Save the draft's enrolment from the editor's pickers."""
        enrolment = enrolment_from_form(
            {name: request.form.getlist(name) for name in ENROLMENT_FIELDS}
        )
        return self._command(
            pk,
            lambda: program_commands.save_enrolment(pk, enrolment, actor_id()),
            _("Enrolment saved."),
        )

    @expose("/program/<int:pk>")
    @has_access
    def program(self, pk: int) -> ResponseReturnValue:
        """A program's partners: who takes part today (or from a scheduled version), since
        when, with counts by region and by type."""
        program = db.get_or_404(Program, pk)
        today = date.today()
        members = partners_of_program(program, today)
        by_region: dict[str, int] = {}
        by_type: dict[str, int] = {}
        for member in members:
            region = str(member.partner.region) if member.partner.region else EMPTY
            by_region[region] = by_region.get(region, 0) + 1
            kind = member.partner.kind.value
            by_type[kind] = by_type.get(kind, 0) + 1
        in_force = version_in_force(program.id, today)
        return self.render_template(
            "workspace/program.html",
            title=program.title,
            program=program,
            members=members,
            today=today,
            by_region=sorted(by_region.items()),
            by_type=[(PARTNER_TYPE_LABELS.get(k, k), n) for k, n in sorted(by_type.items())],
            type_labels=PARTNER_TYPE_LABELS,
            in_force=in_force,
            enrolment_words=(
                describe_enrolment(version_enrolment(in_force), current_language())
                if in_force is not None
                else None
            ),
            draft=open_draft(program.id),
        )

    @expose("/version/<int:pk>/new-draft", methods=["POST"])
    @has_access
    def new_draft(self, pk: int) -> ResponseReturnValue:
        return self._command(
            pk, lambda: program_commands.new_draft(pk, actor_id()), _("Draft created.")
        )

    @expose("/version/<int:pk>/rollback", methods=["POST"])
    @has_access
    def rollback(self, pk: int) -> ResponseReturnValue:
        return self._command(
            pk,
            lambda: program_commands.rollback_to(pk, actor_id()),
            _("A draft copying this version was created: publish it to roll back."),
        )

    @expose("/version/<int:pk>/discard", methods=["POST"])
    @has_access
    def discard(self, pk: int) -> ResponseReturnValue:
        return self._command(
            pk, lambda: program_commands.archive_draft(pk, actor_id()), _("Draft discarded.")
        )

    @expose("/version/<int:pk>/yaml", methods=["POST"])
    @has_access
    def save_yaml(self, pk: int) -> ResponseReturnValue:
        text = request.form.get("yaml", "")
        return self._command(
            pk, lambda: program_commands.save_yaml(pk, text, actor_id()), _("Program saved.")
        )

    @expose("/version/<int:pk>/delete-rule", methods=["POST"])
    @has_access
    def delete_rule(self, pk: int) -> ResponseReturnValue:
        key = request.form.get("rule", "")
        return self._command(
            pk, lambda: program_commands.delete_rule(pk, key, actor_id()), _("Rule deleted.")
        )

    @expose("/version/<int:pk>/move-rule", methods=["POST"])
    @has_access
    def move_rule(self, pk: int) -> ResponseReturnValue:
        key = request.form.get("rule", "")
        offset = -1 if request.form.get("direction") == "up" else 1
        return self._command(
            pk, lambda: program_commands.move_rule(pk, key, offset, actor_id()), _("Rule moved.")
        )

    @expose("/import", methods=["POST"])
    @has_access
    def import_yaml(self) -> ResponseReturnValue:
        upload = request.files.get("file")
        text = upload.read().decode("utf-8", "replace") if upload else request.form.get("yaml", "")
        try:
            version = program_commands.import_program_yaml(text, actor_id(), note=_("imported"))
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
            program_commands.export_yaml(version),
            mimetype="application/x-yaml",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @expose("/diff")
    @has_access
    def diff(self) -> ResponseReturnValue:
        old = _version(int_arg("a", 0) or 0)
        new = _version(int_arg("b", 0) or 0)
        lang = current_language()
        changes = diff_programs(version_spec(old), version_spec(new), lang)
        return self.render_template(
            "workspace/diff.html", title=_("Differences"), old=old, new=new, diff=changes
        )

    @expose("/version/<int:pk>/backtest", methods=["POST"])
    @has_access
    def backtest(self, pk: int) -> ResponseReturnValue:
        _version(pk)
        start, end = form_date(request.form.get("start")), form_date(request.form.get("end"))
        if start is None or end is None or start > end:
            return jsonify(error=_("Choose a period: a start date on or before the end date.")), 400
        try:
            job = enqueue_backtest(pk, start, end)
        except REDIS_ERRORS:
            return jsonify(error=str(QUEUE_UNAVAILABLE)), 503
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
