"""A manager composes a campaign from a template in Chromium (Russian UI): an invalid
form comes back with the errors next to its fields and nothing is created; the valid
one (a promo-code push for a chosen partner, with a budget cap) appears in the list,
its rules are in a program of its own, its lifecycle is approved and launched on the board
with a real worker running the state actions, and its report page shows the sale its
promo code brought. Screenshots of each step go to ``test-artifacts/``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_appbuilder.security.sqla.models import User
from playwright.sync_api import Locator, Page

from server.campaigns.models import Campaign, CampaignStatus
from server.extensions import db
from server.partners.models import AttributionCode
from server.programs.models import ProgramVersion, VersionStatus
from server.security.roles import Role
from server.workflows.definitions import import_definition_files
from server.workflows.models import WorkflowInstance
from tests.browser.conftest import log_in, screenshot
from tests.integration.documents.conftest import make_world
from tests.integration.workflows.conftest import (  # noqa: F401  (wf_app: a fixture)
    PASSWORD,
    REPO,
    at,
    evaluate,
    make_user,
    promo_sale,
    run_worker,
    wf_app,
)

pytestmark = pytest.mark.browser

TITLE = "Весенние промокоды"
PARTNER_LABEL = "A-WEB-01 — Блог «Гаджеты без воды»"


@pytest.fixture
def manager_name(wf_app: Flask) -> Iterator[str]:  # noqa: F811
    """Regions, terms, the demo program (published v1), partners, the seed workflow
    definitions and a manager; the manager's login name."""
    with wf_app.app_context():
        make_world()
        import_definition_files(REPO / "workflows")
        user = db.session.get(User, make_user(Role.MANAGER))
        assert user is not None
        yield user.username


def _text(locator: Locator) -> str:
    """The element's visible text with runs of spaces (and no-break spaces) as one."""
    return " ".join(locator.inner_text().split())


def _campaigns(app: Flask) -> list[Campaign]:
    with app.app_context():
        db.session.expire_all()
        return list(db.session.scalars(sa.select(Campaign)))


def _evaluate_sale(app: Flask, campaign_id: int) -> None:
    """A sale with the campaign's promo code arrives and a real worker evaluates it."""
    with app.app_context():
        code = db.session.scalar(
            sa.select(AttributionCode.code).where(AttributionCode.campaign_id == campaign_id)
        )
        assert code is not None
        evaluate(app, promo_sale("spring-1", "2026-03-10T12:00:00+03:00", code))


def test_manager_composes_publishes_launches_and_reads_a_campaign(
    wf_app: Flask,  # noqa: F811
    live_server: str,
    page: Page,
    manager_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = wf_app
    log_in(page, live_server, manager_name, PASSWORD)

    page.goto(f"{live_server}/campaign-workspace/")
    assert _text(page.locator("h3").first) == "Конструктор кампаний"
    templates = _text(page.locator("#pf-campaign-templates"))
    assert "Онлайн-акция с промокодами" in templates
    assert "бонус 2 % с онлайн-продаж в дни кампании" in templates
    assert page.locator("#pf-campaigns tbody tr").count() == 0
    form = page.locator("#pf-compose")

    # -- an invalid form: the errors show next to their fields, nothing is created ----
    form.locator("select[name=kind]").select_option("offline_event")
    form.locator("input[name=title]").fill("Весенняя выставка")
    form.locator("input[name=slug]").fill("spring-expo")
    form.locator("input[name=starts_on]").fill("2026-03-31")
    form.locator("input[name=ends_on]").fill("2026-03-01")
    form.locator("input[name=budget]").fill("-100")
    with page.expect_navigation():
        form.locator("#pf-compose-submit").click()
    assert "Кампания не создана" in _text(page.locator("#pf-compose-errors"))
    errors = {
        name: _text(page.locator(f'#pf-compose [data-error-for="{name}"]'))
        for name in ("place", "ends_on", "budget", "title", "slug")
    }
    assert errors == {
        "place": "Для офлайн-мероприятия нужно место проведения.",
        "ends_on": "Кампания заканчивается раньше, чем начинается.",
        "budget": "Бюджет — положительная сумма.",
        "title": "",
        "slug": "",
    }
    assert page.locator("#pf-compose .has-error").count() == 3
    # what the manager typed is still there to correct
    assert form.locator("input[name=title]").input_value() == "Весенняя выставка"
    assert form.locator("select[name=kind]").input_value() == "offline_event"
    assert form.locator("input[name=budget]").input_value() == "-100"
    assert page.locator("#pf-campaigns tbody tr").count() == 0
    screenshot(page, "campaigns-01-inline-errors")
    assert _campaigns(app) == []

    # -- the valid campaign: a promo-code push for one partner with a budget cap -----
    form.locator("select[name=kind]").select_option("promo_push")
    form.locator("input[name=title]").fill(TITLE)
    form.locator("input[name=slug]").fill("spring-push")
    form.locator("input[name=starts_on]").fill("2026-03-01")
    form.locator("input[name=ends_on]").fill("2026-03-31")
    form.locator("input[name=rate]").fill("4")
    form.locator("input[name=budget]").fill("50 000")
    form.locator('input[name=regions][value="A"]').check()
    form.locator("select[name=partners]").select_option(label=PARTNER_LABEL)
    with page.expect_navigation():
        form.locator("#pf-compose-submit").click()
    created = _text(page.locator(".alert-success"))
    assert "в отдельной опубликованной программе" in created
    assert "Черновик программы «" in created and "не открывался" in created
    heading = _text(page.locator("h3").first)
    assert heading == f"{TITLE} Онлайн-акция с промокодами · в плане"
    assert _text(page.locator("#pf-budget")) == "Израсходовано 0,00 ₽ из 50 000,00 ₽."
    screenshot(page, "campaigns-02-composed")
    [campaign] = _campaigns(app)
    assert (campaign.slug, campaign.status, str(campaign.budget)) == (
        "spring-push",
        CampaignStatus.plan,
        "50000.00",
    )

    page.goto(f"{live_server}/campaign-workspace/")
    row = page.locator("#pf-campaigns tbody tr")
    assert row.count() == 1
    listed = _text(row)
    for shown in (TITLE, "spring-push", "Онлайн-акция с промокодами", "в плане"):
        assert shown in listed
    assert "0,00 ₽ / 50 000,00 ₽" in listed

    # -- its rules: a program of its own, published; no draft of its program ---------
    with page.expect_navigation():
        page.locator("#pf-campaigns tbody tr a", has_text=TITLE).first.click()
    rules_link = page.locator("#pf-campaign-rules a")
    assert "собственная программа, версия 1" in _text(rules_link)
    with page.expect_navigation():
        rules_link.click()
    page.locator("#pf-rules tr[data-rule='campaign-spring-push']").wait_for()
    page.locator("#pf-version-status").filter(has_text="опубликован").wait_for()
    screenshot(page, "campaigns-03-own-program")
    with app.app_context():
        drafts = sa.select(ProgramVersion).where(ProgramVersion.status == VersionStatus.draft)
        assert db.session.scalars(drafts).all() == []

    # -- approve and launch on the lifecycle board ------------------------------------
    page.goto(f"{live_server}/workflows/board/campaign-lifecycle")
    card = page.locator('.pf-column[data-state="plan"] .pf-card', has_text=TITLE)
    with page.expect_navigation():
        card.locator('button[data-trigger="approve"]').click()
    refused = _text(page.locator(".alert-danger"))
    assert "Не перемещено: менеджер не одобрил шаг «Бюджет»" in refused
    with page.expect_navigation():
        card.locator(".pf-card-title").click()
    approval = page.locator("form.pf-evidence", has=page.locator('input[value="approval"]'))
    # the step is chosen by its title (it was a free-text box for the key `budget`)
    approval.locator("select[name=name]").select_option(label="Бюджет")
    with page.expect_navigation():
        approval.locator("button[type=submit]").click()
    assert "Бюджет" in _text(page.locator("#pf-evidence"))
    with page.expect_navigation():
        page.locator(".pf-option button", has_text="Утвердить").click()
    assert "Перемещено." in _text(page.locator(".alert-success"))
    run_worker(app)  # set_campaign_status + the e-mail to the managers
    page.reload()
    # launched before the sale below occurred (a campaign pays only while running)
    at(monkeypatch, datetime(2026, 3, 2, 6, tzinfo=UTC))
    with page.expect_navigation():
        page.locator(".pf-option button", has_text="Запустить").click()
    run_worker(app)
    page.reload()
    assert _text(page.locator("#pf-status")) == "в работе"
    screenshot(page, "campaigns-04-launched")
    with app.app_context():
        instance = db.session.scalar(sa.select(WorkflowInstance))
        assert instance is not None and instance.state == "running"

    # -- the report: the sale its promo code brought, against the budget --------------
    _evaluate_sale(app, campaign.id)
    page.goto(f"{live_server}/campaign-workspace/{campaign.id}")
    assert _text(page.locator("#pf-campaign-status")) == "в работе"
    assert _text(page.locator("#pf-budget")) == "Израсходовано 400,00 ₽ из 50 000,00 ₽."
    assert _text(page.locator('#pf-report-total tr[data-row="total"]')) == (
        "10 000,00 ₽ 1 400,00 ₽ 1 24"
    )
    assert _text(page.locator("#pf-report-partners tbody tr")).startswith("A-WEB-01 10 000,00 ₽")
    assert _text(page.locator("#pf-report-channels tbody tr")).startswith("онлайн 10 000,00 ₽")
    screenshot(page, "campaigns-05-report")
    page.goto(f"{live_server}/campaign-workspace/")
    assert "в работе" in _text(page.locator("#pf-campaigns tbody tr"))
