"""The campaign lifecycle (``workflows/campaign-lifecycle.yaml``) end to end.

A promo-code push composed from its template goes plan → approved → running → closed
through the engine's commands; the actions of each state run on a real rq worker in
burst mode against the session's real Redis, on SQLite and on PostgreSQL. After each
transition the side effects are checked: the campaign's status and the instants it
started running and closed, its rule (in its own program, published from its first day,
paying only once launched), its budget and spend from the ledger, the e-mail to the managers, the
history and the audit log. Refused transitions change nothing and say why. Composing
itself refuses bad input field by field and stores nothing.

The workers record ``running_since`` and ``closed_at`` from their clock; the tests set
that clock (:func:`at`) so the campaign runs in March 2026 like its sales. What the
ledger pays inside and outside that window: ``test_campaign_payment_window.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_appbuilder.security.sqla.models import User
from flask_babel import force_locale

from server.audit.models import AuditEntry
from server.campaigns import commands as campaign_commands
from server.campaigns.budget import BudgetLevel, budget_state
from server.campaigns.commands import (
    CampaignInvalid,
    ComposedCampaign,
    compose_campaign,
    update_budget,
)
from server.campaigns.models import Campaign, CampaignKind, CampaignStatus
from server.campaigns.report import campaign_report
from server.errors import CommandError
from server.extensions import db
from server.ledger.models import Accrual, AccrualKind
from server.programs.models import ProgramVersion, VersionStatus
from server.programs.queries import version_in_force
from server.rules.program import Issue, ProgramError
from server.workflows.engine import TransitionRefused, record_evidence
from server.workflows.models import (
    EvidenceKind,
    InstanceStatus,
    OutboxMessage,
    WorkflowActionRun,
    WorkflowInstance,
)
from tests.integration.workflows.conftest import (
    CampaignWorld,
    at,
    campaign_window,
    evaluate,
    fire_at,
    fire_transition,
    login,
    promo_sale,
    run_worker,
    spring_push,
    stored_campaign,
)

KEY = "campaign-lifecycle"
SLUG = "spring-push"
RULE_KEY = f"campaign-{SLUG}"
STARTS, ENDS = date(2026, 3, 1), date(2026, 3, 31)
MID_CAMPAIGN = date(2026, 3, 10)
#: the transitions' clock: composed and approved, launched, closed
PLANNED = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
LAUNCHED = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
CLOSED = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)


def _instance(campaign_id: int) -> WorkflowInstance:
    db.session.expire_all()
    instance = db.session.scalar(
        sa.select(WorkflowInstance).where(
            WorkflowInstance.subject_type == "campaign", WorkflowInstance.subject_id == campaign_id
        )
    )
    assert instance is not None
    return instance


def _audit(action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def _rule_keys(version: ProgramVersion | None) -> set[str]:
    assert version is not None
    return {rule.rule_key for rule in version.rules}


def test_campaign_goes_through_every_state_with_its_side_effects(
    wf_app: Flask, campaign_world: CampaignWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, manager = campaign_world, campaign_world.manager_id
    at(monkeypatch, PLANNED)

    # -- compose: plan -------------------------------------------------------------
    composed = compose_campaign(spring_push(world), manager)
    assert composed.problems == [] and len(composed.codes) == 1
    campaign_id, version_id = composed.campaign.id, composed.version.id
    instance = _instance(campaign_id)
    assert (instance.definition.key, instance.state, instance.status) == (
        KEY,
        "plan",
        InstanceStatus.running,
    )
    assert campaign_window(campaign_id) == (CampaignStatus.plan, None, None)
    # its rule is in its own program, in force from its first day; the program it is
    # for has no new version, no draft
    own = db.session.get(ProgramVersion, version_id)
    assert own is not None and own.program_id == stored_campaign(campaign_id).rules_program_id
    assert version_in_force(own.program_id, MID_CAMPAIGN) == own
    assert RULE_KEY in _rule_keys(own)
    assert RULE_KEY not in _rule_keys(version_in_force(world.program_id, MID_CAMPAIGN))
    assert [v.status for v in own.program.versions] == [VersionStatus.published]
    program_versions = sa.select(ProgramVersion.status).where(
        ProgramVersion.program_id == world.program_id
    )
    assert db.session.scalars(program_versions).all() == [VersionStatus.published]
    assert budget_state(db.session, stored_campaign(campaign_id)).level is BudgetLevel.no_cap
    assert [e.entity_id for e in _audit("campaign.compose")] == [str(campaign_id)]
    assert str(version_id) in [e.entity_id for e in _audit("program_version.publish")]
    assert len(_audit("workflow.start")) == 1

    # -- refused: wrong trigger, wrong role, unmet guards; nothing changes ---------
    with pytest.raises(TransitionRefused, match="“Launch” cannot be taken from the stage “Plan”"):
        fire_transition(instance.id, "launch", manager)
    with pytest.raises(
        TransitionRefused, match=r"your role may not take the step “Approve” \(allowed: manager"
    ):
        fire_transition(instance.id, "approve", campaign_world.legal_id)
    with pytest.raises(TransitionRefused) as refused:
        fire_transition(instance.id, "approve", manager)
    assert [str(reason) for reason in refused.value.reasons] == [
        "fields not filled: Budget",
        "a manager has not approved the step “Budget”",
    ]
    instance = _instance(campaign_id)
    assert (instance.state, instance.status) == ("plan", InstanceStatus.running)
    assert _audit("workflow.transition") == []
    assert db.session.scalar(sa.select(sa.func.count(WorkflowActionRun.id))) == 0

    # -- approve: the budget is set and approved; the worker sets the status --------
    update_budget(campaign_id, Decimal("1000"), manager)
    assert _audit("campaign.budget")[0].after["budget"] == "1000"  # type: ignore[index]
    record_evidence(instance.id, EvidenceKind.approval, "budget", manager)
    fire_transition(instance.id, "approve", manager, comment="budget agreed")
    instance = _instance(campaign_id)
    assert (instance.state, instance.status) == ("approved", InstanceStatus.acting)
    assert stored_campaign(campaign_id).status is CampaignStatus.plan  # not before the worker
    with pytest.raises(TransitionRefused, match="still running"):
        fire_transition(instance.id, "launch", manager)
    run_worker(wf_app)
    instance = _instance(campaign_id)
    assert (instance.state, instance.status) == ("approved", InstanceStatus.running)
    assert stored_campaign(campaign_id).status is CampaignStatus.approved
    assert stored_campaign(campaign_id).running_since is None  # approved is not running
    [approved] = _audit("campaign.approved")
    assert (approved.entity_type, approved.entity_id, approved.actor_id) == (
        "campaign",
        str(campaign_id),
        manager,
    )
    assert (approved.before, approved.after) == ({"status": "plan"}, {"status": "approved"})
    [mail] = db.session.scalars(sa.select(OutboxMessage)).all()
    manager_email = db.session.get(User, manager).email
    assert mail.subject == "Кампания утверждена"
    assert mail.body == "Кампания «Весенние промокоды» утверждена."
    assert manager_email in mail.recipients
    state = budget_state(db.session, stored_campaign(campaign_id))
    assert (state.budget, state.spend, state.level) == (
        Decimal("1000.00"),
        Decimal("0"),
        BudgetLevel.ok,
    )

    # -- launch: running; the campaign's code earns its bonus against the budget ----
    fire_at(wf_app, monkeypatch, LAUNCHED, instance.id, "launch", manager)
    instance = _instance(campaign_id)
    assert (instance.state, instance.status) == ("running", InstanceStatus.running)
    assert campaign_window(campaign_id) == (CampaignStatus.running, LAUNCHED, None)
    assert [(e.before, e.after) for e in _audit("campaign.running")] == [
        ({"status": "approved"}, {"status": "running"})
    ]
    evaluate(wf_app, promo_sale("spring-1", "2026-03-10T12:00:00+03:00", composed.codes[0]))
    bonus = db.session.scalars(sa.select(Accrual).where(Accrual.rule_key == RULE_KEY)).all()
    assert [(a.kind, a.amount, a.partner_id) for a in bonus] == [
        (AccrualKind.bonus, Decimal("400.00"), world.partner_id)
    ]
    state = budget_state(db.session, stored_campaign(campaign_id))
    assert (state.spend, state.remaining, state.level) == (
        Decimal("400.00"),
        Decimal("600.00"),
        BudgetLevel.ok,
    )
    report = campaign_report(db.session, stored_campaign(campaign_id))
    assert (report.total.sales, report.total.orders, report.total.accruals) == (
        Decimal("10000.00"),
        1,
        Decimal("400.00"),
    )

    # -- close: closed and finished; nothing fires any more ------------------------
    fire_at(wf_app, monkeypatch, CLOSED, instance.id, "close", manager, comment="season over")
    instance = _instance(campaign_id)
    assert (instance.state, instance.status) == ("closed", InstanceStatus.finished)
    assert campaign_window(campaign_id) == (CampaignStatus.closed, LAUNCHED, CLOSED)
    assert [(e.before, e.after) for e in _audit("campaign.closed")] == [
        ({"status": "running"}, {"status": "closed"})
    ]
    with pytest.raises(TransitionRefused, match="the workflow is finished"):
        fire_transition(instance.id, "close", manager)
    history = [(t.trigger, t.from_state, t.to_state, t.comment) for t in instance.history]
    assert history == [
        ("(start)", None, "plan", None),
        ("approve", "plan", "approved", "budget agreed"),
        ("launch", "approved", "running", None),
        ("close", "running", "closed", "season over"),
    ]
    assert [(e.before, e.after) for e in _audit("workflow.transition")] == [
        ({"state": "plan"}, {"state": "approved", "trigger": "approve"}),
        ({"state": "approved"}, {"state": "running", "trigger": "launch"}),
        ({"state": "running"}, {"state": "closed", "trigger": "close"}),
    ]
    assert len(db.session.scalars(sa.select(OutboxMessage)).all()) == 1  # approval only


def test_a_planned_campaign_can_be_closed_without_running(
    wf_app: Flask, campaign_world: CampaignWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    composed = compose_campaign(spring_push(campaign_world, budget=Decimal("500")), None)
    instance = _instance(composed.campaign.id)
    fire_at(
        wf_app,
        monkeypatch,
        CLOSED,
        instance.id,
        "close",
        campaign_world.manager_id,
        comment="cancelled",
    )
    instance = _instance(composed.campaign.id)
    assert (instance.state, instance.status) == ("closed", InstanceStatus.finished)
    # never ran
    assert campaign_window(composed.campaign.id) == (CampaignStatus.closed, None, CLOSED)
    assert [(e.before, e.after) for e in _audit("campaign.closed")] == [
        ({"status": "plan"}, {"status": "closed"})
    ]
    assert _audit("campaign.approved") == [] and _audit("campaign.running") == []
    # its program stays published: a closed campaign's rule pays nothing (window)
    own = db.session.get(ProgramVersion, composed.version.id)
    assert own is not None and own.status is VersionStatus.published


def test_a_refused_approval_over_http_says_why_in_russian(
    wf_app: Flask, campaign_world: CampaignWorld
) -> None:
    composed = compose_campaign(spring_push(campaign_world), campaign_world.manager_id)
    instance_id = _instance(composed.campaign.id).id
    client = login(wf_app, campaign_world.manager_id)
    # the requests share the test's app context: lift its English for the Russian UI
    with force_locale("ru"):
        board = client.get(f"/workflows/board/{KEY}").get_data(as_text=True)
        response = client.post(
            f"/workflows/fire/{instance_id}",
            data={"trigger": "approve", "expected_state": "plan"},
            follow_redirects=True,
        )
    assert "Весенние промокоды" in board and 'data-trigger="approve"' in board
    page = response.get_data(as_text=True)
    assert "Не перемещено: не заполнены поля: Бюджет; менеджер не одобрил шаг «Бюджет»" in page
    assert _instance(composed.campaign.id).state == "plan"


# -- composing: the lifecycle's start refuses bad input and stores nothing ----------


def _nothing_stored() -> None:
    assert db.session.scalar(sa.select(sa.func.count(Campaign.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(WorkflowInstance.id))) == 0
    versions = sa.select(sa.func.count(ProgramVersion.id))
    assert db.session.scalar(versions) == 1  # the program's own
    assert _audit("campaign.compose") == []


def test_composing_lists_every_bad_field_and_stores_nothing(
    wf_app: Flask, campaign_world: CampaignWorld
) -> None:
    bad = spring_push(
        campaign_world,
        slug="Весна!",
        title=" ",
        kind=CampaignKind.offline_event,
        starts_on=ENDS,
        ends_on=STARTS,
        budget=Decimal("-5"),
        rate=Decimal("-1"),
        partner_ids=(999_999,),
    )
    with pytest.raises(CampaignInvalid) as invalid:
        compose_campaign(bad, campaign_world.manager_id)
    assert {name: str(message) for name, message in invalid.value.issues.items()} == {
        "slug": "The campaign code: lower-case Latin letters, digits and '-'.",
        "title": "The campaign needs a title.",
        "ends_on": "The campaign ends before it starts.",
        "place": "An offline event needs a place.",
        "budget": "The budget is a positive amount.",
        "rate": "The bonus rate is a percentage from 0 to 100.",
        "partners": "Unknown partner in the campaign.",
    }
    _nothing_stored()


def test_amounts_beyond_what_the_ledger_keeps_are_refused_with_a_reason(
    wf_app: Flask, campaign_world: CampaignWorld
) -> None:
    # Regression: a 23-digit budget reached SQLite's INTEGER and answered 500; a
    # 100,000 % bonus was accepted
    bad = spring_push(
        campaign_world, budget=Decimal("99999999999999999999999"), rate=Decimal("100000")
    )
    with pytest.raises(CampaignInvalid) as invalid:
        compose_campaign(bad, campaign_world.manager_id)
    assert {name: str(message) for name, message in invalid.value.issues.items()} == {
        "budget": "The budget is too large: at most 16 digits before the decimal point.",
        "rate": "The bonus rate is a percentage from 0 to 100.",
    }
    _nothing_stored()
    composed = compose_campaign(
        spring_push(campaign_world, budget=Decimal("9999999999999999.99"), rate=Decimal("100")),
        campaign_world.manager_id,
    )
    campaign_id = composed.campaign.id
    with pytest.raises(CommandError, match="too large"):
        update_budget(campaign_id, Decimal("1e16"), campaign_world.manager_id)
    assert db.session.get(Campaign, campaign_id).budget == Decimal("9999999999999999.99")


def test_a_program_error_after_the_campaign_row_leaves_nothing_in_the_session(
    wf_app: Flask, campaign_world: CampaignWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression: the campaign row was flushed, then the program check failed and the
    # session kept the row; the compose page, shown again in the same request, listed it.
    def refuse(_document: object) -> None:
        raise ProgramError([Issue("rules[0]", "does not validate")])

    monkeypatch.setattr(campaign_commands, "parse_program", refuse)
    with pytest.raises(ProgramError):
        compose_campaign(spring_push(campaign_world), campaign_world.manager_id)
    _nothing_stored()


def test_a_zero_rate_is_kept_not_replaced_by_the_template_default(
    wf_app: Flask, campaign_world: CampaignWorld
) -> None:
    # Regression: ``rate or default`` turned a deliberate 0 % into the template's 2 %.
    composed: ComposedCampaign = compose_campaign(
        spring_push(campaign_world, rate=Decimal("0")), campaign_world.manager_id
    )
    assert composed.version.rules[0].params == {"campaign": "Весенние промокоды", "rate": "0"}
    default = compose_campaign(spring_push(campaign_world, slug="default-rate", rate=None), None)
    assert default.version.rules[0].params["rate"] == "2"
