"""The campaigns workspace: compose campaigns from templates, watch budgets, read
reports, and move a campaign through its lifecycle from its own page.

Thin: each POST checks CSRF, calls one command (``server.campaigns.commands``,
``server.workflows.engine.fire_transition``) and maps its errors to an inline message
or a flash; after a transition commits, the new state's actions are queued.

Routes of :class:`CampaignWorkspaceView` (``/campaign-workspace``): ``/`` (campaigns
with budget state, the compose form), POST ``/compose``, ``/<id>`` (lifecycle buttons,
report and budget), POST ``/<id>/budget``, POST ``/<id>/lifecycle`` (``trigger`` and
``expected_state``: fire one transition of the campaign's lifecycle).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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
from server.campaigns.queries import campaign_rules_version, programs_for_campaigns
from server.campaigns.report import campaign_report
from server.campaigns.templates import CAMPAIGN_TEMPLATES
from server.campaigns.window import pauses_of
from server.errors import CommandError
from server.extensions import db
from server.i18n import current_language
from server.programs.models import Program
from server.rules.program import ProgramError
from server.tasks.workflows import queue_instance_actions
from server.views.forms import actor_id, csrf_token
from server.views.workspace import CHANNEL_LABELS, scope_pickers
from server.workflows.engine import (
    StaleInstance,
    TransitionRefused,
    available_transitions,
    fire_transition,
    user_roles,
)
from server.workflows.models import InstanceStatus, WorkflowInstance
from server.workflows.queries import instances_of_subject
from server.workflows.spec_cache import spec_of

CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.plan: _l("planned"),
    CampaignStatus.approved: _l("approved"),
    CampaignStatus.running: _l("running"),
    CampaignStatus.paused: _l("paused"),
    CampaignStatus.closed: _l("closed"),
}
#: what the campaign page says about its lifecycle instance when no button can be shown
INSTANCE_NOTES = {
    InstanceStatus.acting: _l("The step's actions are running; reload the page in a moment."),
    InstanceStatus.error: _l("The step's actions failed; retry them on the lifecycle board."),
}


def _campaign_kinds() -> dict[CampaignKind, str]:
    """Each campaign kind's title in the reader's language (from its template file)."""
    lang = current_language()
    return {kind: template.title_in(lang) for kind, template in CAMPAIGN_TEMPLATES.items()}


def _paused_since(campaign: Campaign) -> datetime | None:
    """When the current pause began (None: the campaign is not paused)."""
    if campaign.status is not CampaignStatus.paused:
        return None
    open_pauses = [start for start, end in pauses_of(campaign.details) if end is None]
    return open_pauses[-1] if open_pauses else None


@dataclass(frozen=True)
class LifecycleButton:
    """One transition the manager may fire from the campaign page."""

    trigger: str
    title: str
    #: the question the browser asks before the POST
    question: str
    #: the transition ends the lifecycle (nothing can undo it)
    final: bool


def _lifecycle(campaign: Campaign) -> WorkflowInstance | None:
    """The campaign's lifecycle instance (its newest workflow instance), if any."""
    instances = instances_of_subject("campaign", campaign.id)
    return instances[0] if instances else None


def _buttons(campaign: Campaign, instance: WorkflowInstance | None) -> list[LifecycleButton]:
    if instance is None:
        return []
    spec = spec_of(instance.definition)
    lang = current_language()
    buttons = []
    for transition in available_transitions(instance, spec, user_roles(actor_id())):
        dest = spec.state(transition.dest)
        final = dest is not None and dest.final
        title = transition.title.get(lang)
        state = dest.title.get(lang) if dest is not None else transition.dest
        if final:
            question = _(
                "Close the campaign “%(title)s”? This is final: a closed campaign cannot be "
                "reopened and its rules stop paying.",
                title=campaign.title,
            )
        else:
            question = _(
                "%(action)s: move the campaign “%(title)s” to “%(state)s”?",
                action=title,
                title=campaign.title,
                state=state,
            )
        buttons.append(LifecycleButton(transition.trigger, title, question, final))
    return buttons


class CampaignWorkspaceView(BaseView):
    """Compose campaigns from templates, watch budgets, read reports, run lifecycles."""

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
            programs=programs_for_campaigns(),
            pickers=scope_pickers(),
            values=values if values is not None else MultiDict(),
            errors=errors or {},
        )
        return body, status

    def _campaign(self, pk: int) -> Campaign:
        return db.get_or_404(Campaign, pk)

    def _campaign_page(self, campaign: Campaign, status: int = 200) -> ResponseReturnValue:
        instance = _lifecycle(campaign)
        body = self.render_template(
            "workspace/campaign.html",
            title=campaign.title,
            campaign=campaign,
            state=budget_state(db.session, campaign),
            report=campaign_report(db.session, campaign),
            kinds=_campaign_kinds(),
            statuses=CAMPAIGN_STATUS_LABELS,
            channels=CHANNEL_LABELS,
            instance=instance,
            buttons=_buttons(campaign, instance),
            instance_note=INSTANCE_NOTES.get(instance.status) if instance else None,
            csrf=csrf_token(),
            paused_since=_paused_since(campaign),
            rules_version=campaign_rules_version(campaign),
            program=db.session.get(Program, campaign.program_id) if campaign.program_id else None,
        )
        return body, status

    @expose("/")
    @has_access
    def index(self) -> ResponseReturnValue:
        return self._campaigns_page()

    @expose("/compose", methods=["POST"])
    @has_access
    def compose(self) -> ResponseReturnValue:
        try:
            composed = compose_campaign(campaign_from_form(request.form), actor_id())
        except CampaignInvalid as error:
            return self._campaigns_page(request.form, error.issues, 400)
        except ProgramError as error:
            return self._campaigns_page(request.form, {"form": error.text(current_language())}, 400)
        except CommandError as error:
            return self._campaigns_page(request.form, {"form": str(error)}, 400)
        if composed.lifecycle_id is not None:
            queue_instance_actions(composed.lifecycle_id)
        for problem in composed.problems:
            flash(problem, "warning")
        parent = db.session.get(Program, composed.campaign.program_id or 0)
        flash(
            _(
                "Campaign created. Its rules are in a program of its own, published: they "
                "pay only while the campaign is running. No draft of %(program)s was opened.",
                program=parent.title if parent else "—",
            ),
            "success",
        )
        return redirect(url_for(".show", pk=composed.campaign.id))

    @expose("/<int:pk>")
    @has_access
    def show(self, pk: int) -> ResponseReturnValue:
        return self._campaign_page(self._campaign(pk))

    @expose("/<int:pk>/budget", methods=["POST"])
    @has_access
    def budget(self, pk: int) -> ResponseReturnValue:
        try:
            update_budget(pk, parse_amount(request.form.get("budget")), actor_id())
        except CommandError as error:
            flash(str(error), "danger")
        else:
            flash(_("Budget saved."), "success")
        return redirect(url_for(".show", pk=pk))

    @expose("/<int:pk>/lifecycle", methods=["POST"])
    @has_access
    def lifecycle(self, pk: int) -> ResponseReturnValue:
        """Fire one transition of the campaign's lifecycle; a refusal comes back as 409
        with its reasons on the campaign page, nothing moved."""
        campaign = self._campaign(pk)
        trigger = request.form.get("trigger", "").strip()
        if not trigger:
            abort(400, description=_("No step was chosen."))
        instance = _lifecycle(campaign)
        if instance is None:
            flash(_("This campaign has no lifecycle: nothing to move."), "danger")
            return self._campaign_page(campaign, 409)
        try:
            fire_transition(
                instance.id,
                trigger,
                actor_id(),
                expected_state=request.form.get("expected_state") or None,
            )
        except StaleInstance as error:
            db.session.rollback()
            flash(str(error), "warning")
            return self._campaign_page(campaign, 409)
        except TransitionRefused as error:
            db.session.rollback()
            flash(_("Not moved: %(reasons)s", reasons=str(error)), "danger")
            return self._campaign_page(campaign, 409)
        queue_instance_actions(instance.id)
        flash(_("Moved."), "success")
        return redirect(url_for(".show", pk=pk))
