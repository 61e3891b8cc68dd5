"""The engine end to end on a real Redis worker: a full onboarding, guards, roles,
failing actions with retries, versions and migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from server.audit.models import AuditEntry
from server.documents.contracts import mark_contract_sent, record_signed_contract
from server.documents.models import Contract
from server.extensions import db
from server.partners.models import AttributionCode, CodeKind, Partner, PartnerStatus
from server.workflows.engine import (
    TransitionRefused,
    UploadedFile,
    record_evidence,
)
from server.workflows.models import (
    ActionRunStatus,
    EvidenceKind,
    InstanceStatus,
    OutboxMessage,
    ProgramEnrollment,
    WorkflowActionRun,
    WorkflowInstance,
)
from tests.integration.workflows.conftest import (
    Onboarding,
    fire_transition,
    retry_actions,
    run_worker,
    start_workflow,
)

PDF = UploadedFile("tax.pdf", b"%PDF-1.4 test document")


def _instance(instance_id: int) -> WorkflowInstance:
    db.session.expire_all()
    instance = db.session.get(WorkflowInstance, instance_id)
    assert instance is not None
    return instance


def _to_selection(partner_id: int, manager_id: int) -> int:
    db.session.get(Partner, partner_id).landing_url = "https://blog.example.test"
    db.session.commit()
    instance = start_workflow("partner", partner_id, manager_id)
    fire_transition(instance.id, "accept_application", manager_id)
    fire_transition(instance.id, "agree_goals", manager_id, expected_state="goals")
    return instance.id


def _ready_for_contract(instance_id: int, partner_id: int, manager_id: int) -> None:
    partner = db.session.get(Partner, partner_id)
    partner.legal_name, partner.inn = "ИП Блогов", "770123456789"
    db.session.commit()
    record_evidence(instance_id, EvidenceKind.document, "tax_status", manager_id, PDF)
    record_evidence(instance_id, EvidenceKind.approval, "selection", manager_id)


def _sign_contract(partner_id: int, legal_id: int) -> None:
    contract = db.session.scalar(sa.select(Contract).where(Contract.partner_id == partner_id))
    assert contract is not None
    mark_contract_sent(contract.id, legal_id)
    record_signed_contract(contract.id, "signed.pdf", b"%PDF-1.4 signed", legal_id)


def test_full_onboarding_from_application_to_active_partner(
    wf_app: Flask, onboarding: Onboarding
) -> None:
    partner_id, manager_id = onboarding.partner_id, onboarding.manager_id
    instance_id = _to_selection(partner_id, manager_id)
    assert _instance(instance_id).definition.key == "onboarding-online-affiliate"
    _ready_for_contract(instance_id, partner_id, manager_id)

    fire_transition(instance_id, "approve_partner", manager_id, comment="looks good")
    assert _instance(instance_id).status is InstanceStatus.acting
    with pytest.raises(TransitionRefused, match="still running"):
        fire_transition(instance_id, "contract_signed", onboarding.legal_id)
    run_worker(wf_app)

    instance = _instance(instance_id)
    assert (instance.state, instance.status) == ("contract", InstanceStatus.running)
    contract = db.session.scalar(sa.select(Contract).where(Contract.partner_id == partner_id))
    assert contract is not None and contract.pdf_path  # generated and rendered by the worker
    with pytest.raises(TransitionRefused, match="not signed"):
        fire_transition(instance_id, "contract_signed", onboarding.legal_id)
    _sign_contract(partner_id, onboarding.legal_id)
    fire_transition(instance_id, "contract_signed", onboarding.legal_id)
    record_evidence(instance_id, EvidenceKind.training, "affiliate_basics", manager_id)
    fire_transition(instance_id, "training_done", manager_id)
    assert db.session.get(Partner, partner_id).status is PartnerStatus.onboarding
    run_worker(wf_app)

    instance = _instance(instance_id)
    assert (instance.state, instance.status) == ("activation", InstanceStatus.running)
    partner = db.session.get(Partner, partner_id)
    assert partner.status is PartnerStatus.active
    kinds = {
        code.kind
        for code in db.session.scalars(
            sa.select(AttributionCode).where(AttributionCode.partner_id == partner_id)
        )
    }
    assert kinds == {CodeKind.promo, CodeKind.referral}
    assert db.session.scalar(sa.select(sa.func.count(ProgramEnrollment.id))) == 1
    subjects = set(db.session.scalars(sa.select(OutboxMessage.subject)))
    assert "Вы активированы как партнёр" in subjects
    fire_transition(instance_id, "start_monitoring", manager_id)
    history = [(t.trigger, t.to_state) for t in _instance(instance_id).history]
    assert history[0] == ("(start)", "application")
    assert history[-1] == ("start_monitoring", "monitoring")
    assert len(history) == 7
    audited = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"workflow.start", "workflow.transition", "partner.active", "code.generate"} <= audited


def test_guards_refuse_with_every_reason(wf_app: Flask, onboarding: Onboarding) -> None:
    instance_id = _to_selection(onboarding.partner_id, onboarding.manager_id)
    with pytest.raises(TransitionRefused) as refused:
        fire_transition(instance_id, "approve_partner", onboarding.manager_id)
    text = str(refused.value)
    # each missing item by its title, never its key
    assert "fields not filled: Legal name, INN" in text
    assert "documents not uploaded: Proof of tax status" in text
    assert "a manager has not approved the step “Partner selection”" in text
    assert not {"legal_name", "tax_status", "selection"} & set(text.replace(",", " ").split())
    assert _instance(instance_id).state == "selection"


def test_roles_refuse(wf_app: Flask, onboarding: Onboarding) -> None:
    instance = start_workflow("partner", onboarding.partner_id, onboarding.manager_id)
    with pytest.raises(TransitionRefused, match="role"):
        fire_transition(instance.id, "accept_application", onboarding.legal_id)
    with pytest.raises(TransitionRefused, match="role"):
        fire_transition(instance.id, "accept_application", None)
    from server.errors import CommandError

    with pytest.raises(CommandError, match="manager"):
        record_evidence(instance.id, EvidenceKind.approval, "selection", onboarding.legal_id)
    assert _instance(instance.id).state == "application"


def test_stale_state_fires_nothing(wf_app: Flask, onboarding: Onboarding) -> None:
    instance = start_workflow("partner", onboarding.partner_id, onboarding.manager_id)
    fire_transition(instance.id, "accept_application", onboarding.manager_id)
    from server.workflows.engine import StaleInstance

    with pytest.raises(StaleInstance):
        fire_transition(
            instance.id, "accept_application", onboarding.manager_id, expected_state="application"
        )


def test_failing_action_is_retried_then_shown_then_retried_by_hand(
    wf_app: Flask, onboarding: Onboarding
) -> None:
    from server.partners.models import RegionalTerms

    partner_id, manager_id = onboarding.partner_id, onboarding.manager_id
    instance_id = _to_selection(partner_id, manager_id)
    _ready_for_contract(instance_id, partner_id, manager_id)
    terms = db.session.scalars(sa.select(RegionalTerms)).all()
    for row in terms:  # no terms in force: the contract cannot be generated
        row.effective_to = row.effective_from
        row.effective_from = row.effective_from.replace(year=2020)
        row.effective_to = row.effective_from
    db.session.commit()

    fire_transition(instance_id, "approve_partner", manager_id)
    run_worker(wf_app)

    instance = _instance(instance_id)
    assert instance.status is InstanceStatus.error
    assert instance.state == "contract"
    assert "no terms in force" in (instance.error or "")
    run = instance.action_runs[0]
    assert (run.action, run.status, run.attempts) == (
        "generate_contract",
        ActionRunStatus.failed,
        3,
    )
    later = db.session.scalars(
        sa.select(WorkflowActionRun.status).where(WorkflowActionRun.id != run.id)
    ).all()
    assert later == [ActionRunStatus.pending]  # the e-mail waits: nothing half-done
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    with pytest.raises(TransitionRefused, match="retry"):
        fire_transition(instance_id, "contract_signed", manager_id)

    for row in terms:
        row.effective_from = row.effective_from.replace(year=2026)
        row.effective_to = None
    db.session.commit()
    retry_actions(instance_id, manager_id)
    run_worker(wf_app)
    instance = _instance(instance_id)
    assert (instance.status, instance.error) == (InstanceStatus.running, None)
    assert all(r.status is ActionRunStatus.done for r in instance.action_runs)
    assert db.session.scalar(sa.select(sa.func.count(Contract.id))) == 1


def test_overdue_and_one_open_instance_per_subject(wf_app: Flask, onboarding: Onboarding) -> None:
    from server.errors import CommandError
    from server.workflows.queries import board

    instance = start_workflow("partner", onboarding.partner_id, onboarding.manager_id)
    with pytest.raises(CommandError, match="open workflow"):
        start_workflow("partner", onboarding.partner_id, onboarding.manager_id)
    _instance(instance.id).state_entered_at = datetime.now(UTC) - timedelta(days=4)
    db.session.commit()
    data = board("onboarding-online-affiliate", {"Manager"}, "ru")
    assert data is not None
    cards = [card for column in data.columns for card in column.cards]
    assert [card.overdue for card in cards] == [True]
    assert [t.trigger for t in cards[0].transitions] == ["accept_application", "reject"]
