"""A manager runs a campaign's lifecycle from the campaign's own page in Chromium
(Russian UI), by clicks: opens it from the campaigns workspace, starts it (confirms the
browser's dialog), pauses it, and closes it: the first «Завершить» is dismissed and
nothing happens, the second is accepted. A real rq worker runs each state's actions.
On the lifecycle board, «Завершить →» asks too. The campaign page in Russian is
``test-artifacts/campaign-lifecycle-ru.png`` (copied to ``docs/img/campaign-ru.png``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_appbuilder.security.sqla.models import User

from server.campaigns.commands import compose_campaign
from server.campaigns.models import Campaign, CampaignStatus
from server.extensions import db
from server.workflows.models import WorkflowInstance
from tests.browser.conftest import log_in, screenshot
from tests.integration.workflows.conftest import (  # noqa: F401  (wf_app: a fixture)
    PASSWORD,
    CampaignWorld,
    approve_campaign,
    at,
    campaign_world,
    run_worker,
    spring_push,
    wf_app,
)

pytestmark = pytest.mark.browser

TITLE = "Весенние промокоды"
OTHER = "Осенние промокоды"


def _compose(world: CampaignWorld, slug: str, title: str) -> tuple[int, int]:
    composed = compose_campaign(spring_push(world, slug=slug, title=title), world.manager_id)
    assert composed.lifecycle_id is not None
    return composed.campaign.id, composed.lifecycle_id


@pytest.fixture
def approved(
    wf_app: Flask,  # noqa: F811
    campaign_world: CampaignWorld,  # noqa: F811
) -> Iterator[tuple[str, int]]:
    """An approved campaign with a 50,000 ₽ cap, and a planned one; the manager's login
    name and the approved campaign's id."""
    world = campaign_world
    campaign_id, instance_id = _compose(world, "spring-push", TITLE)
    approve_campaign(campaign_id, instance_id, world.manager_id, Decimal("50000"))
    _compose(world, "autumn-push", OTHER)
    run_worker(wf_app)
    user = db.session.get(User, world.manager_id)
    assert user is not None
    yield user.username, campaign_id


def _text(locator: Any) -> str:
    return " ".join(locator.inner_text().split())


def _status(app: Flask, title: str) -> tuple[CampaignStatus, str]:
    with app.app_context():
        db.session.expire_all()
        campaign = db.session.scalar(sa.select(Campaign).where(Campaign.title == title))
        assert campaign is not None
        instance = db.session.scalar(
            sa.select(WorkflowInstance).where(
                WorkflowInstance.subject_type == "campaign",
                WorkflowInstance.subject_id == campaign.id,
            )
        )
        assert instance is not None
        return campaign.status, instance.state


def test_manager_starts_pauses_and_closes_a_campaign_from_its_page(
    wf_app: Flask,  # noqa: F811
    live_server: str,
    page: Any,
    approved: tuple[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = wf_app
    username, campaign_id = approved
    asked: list[str] = []
    answers: list[bool] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept() if answers.pop(0) else dialog.dismiss()

    page.on("dialog", answer)
    log_in(page, live_server, username, PASSWORD)

    # -- from the workspace list to the campaign's own page ----------------------------
    page.goto(f"{live_server}/campaign-workspace/")
    with page.expect_navigation():
        page.locator("#pf-campaigns a", has_text=TITLE).click()
    assert page.url.endswith(f"/campaign-workspace/{campaign_id}")
    assert _text(page.locator("#pf-campaign-status")) == "подтверждено"
    lifecycle = page.locator("#pf-lifecycle")
    buttons = [_text(b) for b in lifecycle.locator("button").all()]
    assert buttons == ["Запустить", "Завершить"]
    assert page.locator("#pf-budget-bar .progress-bar").get_attribute("style") == "width: 0%"
    assert _text(page.locator("#pf-budget")) == "Израсходовано 0,00 ₽ из 50 000,00 ₽."

    # -- start: the dialog is confirmed; the worker sets the status -------------------
    at(monkeypatch, datetime(2026, 3, 2, 6, tzinfo=UTC))
    answers.append(True)
    with page.expect_navigation():
        lifecycle.locator('button[data-trigger="launch"]').click()
    assert asked[-1] == "Запустить: перевести кампанию «Весенние промокоды» в состояние «Идёт»?"
    assert _text(page.locator(".alert-success")).endswith("Перемещено.")
    run_worker(app)
    page.reload()
    assert _text(page.locator("#pf-campaign-status")) == "в работе"
    assert [_text(b) for b in lifecycle.locator("button").all()] == [
        "Приостановить",
        "Завершить",
    ]
    assert _status(app, TITLE) == (CampaignStatus.running, "running")

    # -- pause ------------------------------------------------------------------------
    at(monkeypatch, datetime(2026, 3, 5, 6, tzinfo=UTC))
    answers.append(True)
    with page.expect_navigation():
        lifecycle.locator('button[data-trigger="pause"]').click()
    assert asked[-1].startswith("Приостановить: перевести кампанию")
    run_worker(app)
    page.reload()
    assert _text(page.locator("#pf-campaign-status")) == "на паузе"
    assert _status(app, TITLE) == (CampaignStatus.paused, "paused")
    assert _text(page.locator("#pf-paused-since")).startswith("на паузе с 05.03.2026 06:00 UTC")
    screenshot(page, "campaign-lifecycle-ru")

    # -- close: dismissed first (nothing happens), then accepted -----------------------
    answers.append(False)
    lifecycle.locator('button[data-trigger="close"]').click()
    page.wait_for_timeout(300)
    assert asked[-1] == (
        "Завершить кампанию «Весенние промокоды»? Это окончательно: завершённую кампанию "
        "нельзя возобновить, и её правила перестают начислять."
    )
    assert len(asked) == 3
    assert page.url.endswith(f"/campaign-workspace/{campaign_id}")
    assert _status(app, TITLE) == (CampaignStatus.paused, "paused")
    at(monkeypatch, datetime(2026, 3, 9, 6, tzinfo=UTC))
    answers.append(True)
    with page.expect_navigation():
        lifecycle.locator('button[data-trigger="close"]').click()
    assert len(asked) == 4
    run_worker(app)
    page.reload()
    assert _text(page.locator("#pf-campaign-status")) == "завершено"
    assert lifecycle.locator("button").count() == 0
    assert _status(app, TITLE) == (CampaignStatus.closed, "closed")

    # -- the board's «Завершить →» asks too ---------------------------------------------
    page.goto(f"{live_server}/workflows/board/campaign-lifecycle")
    card = page.locator('.pf-column[data-state="plan"] .pf-card', has_text=OTHER)
    answers.append(False)
    card.locator('button[data-trigger="close"]').click()
    page.wait_for_timeout(300)
    assert asked[-1] == (
        "Завершить «Осенние промокоды»: это окончательно, отменить нельзя. Продолжить?"
    )
    assert _status(app, OTHER) == (CampaignStatus.plan, "plan")
    answers.append(True)
    with page.expect_navigation():
        card.locator('button[data-trigger="close"]').click()
    assert _status(app, OTHER)[1] == "closed"
    assert answers == []
