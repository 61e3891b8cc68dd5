"""A manager drags a partner through the onboarding board in Chromium, from the
application to monitoring, with a real worker running the actions in between."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page

from server.documents.contracts import mark_contract_sent, record_signed_contract
from server.documents.models import Contract
from server.extensions import db
from server.partners.models import Partner, PartnerStatus
from server.security.roles import Role
from server.workflows.engine import UploadedFile, record_evidence
from server.workflows.models import EvidenceKind
from tests.browser.conftest import log_in, screenshot
from tests.integration.workflows.conftest import (  # noqa: F401  (wf_app: a fixture)
    PASSWORD,
    add_partner,
    instance_state,
    make_user,
    run_worker,
    seed_onboarding,
    start_workflow,
    wf_app,
)

KEY = "onboarding-online-affiliate"


@pytest.fixture
def onboarding_world(wf_app: Flask) -> Iterator[dict[str, int | str]]:  # noqa: F811
    from flask_appbuilder.security.sqla.models import User

    from server.partners.models import PartnerKind

    with wf_app.app_context():
        seed_onboarding()
        partner_id = add_partner(
            "WEB-DRAG",
            PartnerKind.online_affiliate,
            landing_url="https://blog.example.test",
            legal_name="ИП Перетаскин",
            inn="770123456789",
        )
        manager_id = make_user(Role.MANAGER)
        instance = start_workflow("partner", partner_id, manager_id)
        record_evidence(
            instance.id,
            EvidenceKind.document,
            "tax_status",
            manager_id,
            UploadedFile("tax.pdf", b"%PDF-1.4 tax"),
        )
        record_evidence(instance.id, EvidenceKind.approval, "selection", manager_id)
        record_evidence(instance.id, EvidenceKind.training, "affiliate_basics", manager_id)
        username = db.session.get(User, manager_id).username
        yield {"partner_id": partner_id, "instance_id": instance.id, "username": username}


def _drag(page: Page, target_state: str) -> None:
    card = page.locator(".pf-card", has_text="WEB-DRAG")
    column = page.locator(f'.pf-column[data-state="{target_state}"]')
    with page.expect_navigation():
        # grab the card by its padding (not a link or a button) and drop mid-column
        card.drag_to(column, source_position={"x": 4, "y": 4}, target_position={"x": 40, "y": 60})
    assert (
        page.locator(
            f'.pf-column[data-state="{target_state}"] .pf-card', has_text="WEB-DRAG"
        ).count()
        == 1
    )


@pytest.mark.browser
def test_workflows_manager_drags_partner_through_board(
    app: Flask,
    live_server: str,
    page: Page,
    onboarding_world: dict,
) -> None:
    instance_id = int(onboarding_world["instance_id"])
    log_in(page, live_server, str(onboarding_world["username"]), PASSWORD)
    page.goto(f"{live_server}/workflows/board/{KEY}")
    assert page.locator('.pf-column[data-state="application"] .pf-card').count() == 1
    screenshot(page, "workflows-board-start")

    for state in ("goals", "selection", "contract"):
        _drag(page, state)
        assert instance_state(app, instance_id) == state
    assert page.locator(".pf-card", has_text="WEB-DRAG").locator(".label-info").count() == 1

    run_worker(app)  # generate_contract + notify, then the PDF render
    with app.app_context():
        contract = db.session.scalar(sa.select(Contract))
        mark_contract_sent(contract.id)
        record_signed_contract(contract.id, "signed.pdf", b"%PDF-1.4 signed")
    page.reload()

    for state in ("training", "activation"):
        _drag(page, state)
    run_worker(app)  # program, codes, activation, e-mail
    page.reload()
    # a click on the card's button works as well as a drag
    with page.expect_navigation():
        page.locator(".pf-card", has_text="WEB-DRAG").locator(
            'button[data-trigger="start_monitoring"]'
        ).click()
    assert instance_state(app, instance_id) == "monitoring"
    screenshot(page, "workflows-board-monitoring")
    with app.app_context():
        assert db.session.get(Partner, onboarding_world["partner_id"]).status is (
            PartnerStatus.active
        )
