"""Each role signs in through the form at 1366 px and lands on its own first page, which
lists in Russian what waits for it today, each line a count and a link to where it is
done; the navbar stays on one row."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page

from server.demo.commands import load_demo
from server.documents.contracts import create_contract
from server.documents.models import Contract, ContractStatus, RenderStatus
from server.extensions import db
from server.ledger.models import EventStatus, IntakeRejection, SalesEvent
from server.partners.models import Partner
from server.statements.commands import close_period, open_months_through
from server.statements.models import Statement, StatementStatus
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

PASSWORDS = {
    "manager": "manager-demo",
    "legal": "legal-demo",
    "integration": "integration-demo",
    "partner": "partner-demo",
}
#: Latin words a to-do card may hold: the API named as such
ALLOWED_LATIN = {"API"}


@pytest.fixture
def demo_today(app: Flask) -> None:
    """The demo, plus one thing waiting for each role that the demo alone lacks: a
    contract sent to A-AMB-01 and not signed back, its statement for the first open
    month ready, and two events the API refused."""
    with app.app_context():
        load_demo()
        partner = db.session.scalars(sa.select(Partner).where(Partner.code == "A-AMB-01")).one()
        contract = db.session.get(Contract, create_contract(partner.id))
        assert contract is not None
        # the send itself is another journey's; here only its outcome counts
        contract.status, contract.render_status = ContractStatus.sent, RenderStatus.rendered
        start, end = open_months_through(date(2026, 7, 31))[0]
        close_period(start, end)
        db.session.execute(
            sa.update(Statement)
            .where(Statement.partner_id == partner.id)
            .values(status=StatementStatus.ready)
        )
        for external_id in ("bad-1", "bad-2"):
            db.session.add(
                IntakeRejection(
                    source="shop", external_id=external_id, reason="invalid amount", payload={}
                )
            )
        db.session.commit()


def _todos(page: Page) -> dict[str, int]:
    """data-todo key → the count its line shows."""
    counts = {}
    for line in page.locator("#todays-work [data-todo]").all():
        key = line.get_attribute("data-todo") or ""
        count = line.locator(".pf-count")
        counts[key] = int(re.sub(r"\D", "", count.inner_text())) if count.count() else 0
    return counts


def _assert_russian_and_one_row(page: Page) -> None:
    card = page.locator("#todays-work").inner_text()
    latin = set(re.findall(r"[A-Za-z][\w-]*", card)) - ALLOWED_LATIN
    assert not latin, card
    brand = page.locator(".navbar-brand").bounding_box()
    user = page.locator(".navbar-right").last.bounding_box()
    navbar = page.locator(".navbar").bounding_box()
    assert brand is not None and user is not None and navbar is not None
    assert abs(user["y"] - brand["y"]) < 10 and navbar["height"] < 70, (brand, user, navbar)


def _sign_in(page: Page, live_server: str, role: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, role, PASSWORDS[role])


def test_the_manager_lands_on_holds_periods_onboardings_and_campaigns(
    live_server: str, page: Page, demo_today: None
) -> None:
    _sign_in(page, live_server, "manager")
    assert page.url.rstrip("/") == live_server
    screenshot(page, "home-manager")
    assert "Что нужно сделать сегодня" in page.locator("#todays-work").inner_text()
    todos = _todos(page)
    assert todos["holds"] > 0 and todos["periods"] > 0, todos
    # nothing runs in the demo, and the page says so rather than leaving the line out
    assert {"onboardings", "campaigns"} <= todos.keys(), todos
    assert "contracts-to-sign" not in todos  # a lawyer's line, not the manager's
    _assert_russian_and_one_row(page)
    with page.expect_navigation():
        page.click("#todays-work [data-todo=holds]")
    assert "/holdreviewview/list/" in page.url


def test_the_dashboard_charts_have_axes_and_values_in_russian(
    live_server: str, page: Page, demo_today: None
) -> None:
    _sign_in(page, live_server, "manager")
    with page.expect_navigation():
        page.click("#dashboards-link")
    screenshot(page, "dashboard-charts")
    chart = page.locator("#growth-chart")
    ticks = chart.locator(".pf-tick").all_text_contents()
    assert ticks[0] == "0" and len(ticks) >= 3, ticks
    # round ticks written as Russian numbers: 2 000 000, not 2000000 or 2,000,000
    assert all(re.fullmatch(r"\d{1,3}(\u00a0\d{3})*(,\d+)?", tick) for tick in ticks), ticks
    labels = chart.locator(".pf-label").all_text_contents()
    # the suite's day is 21 November: the month so far is marked, not read as a fall
    assert "нояб. 2026 (часть)" in labels and "окт. 2026" in labels, labels
    assert page.locator("#growth [data-partial]").count() == 1
    values = chart.locator(".pf-value").all_text_contents()
    assert len(values) == len(labels) and all(value.endswith("₽") for value in values), values
    assert page.locator("#sales-chart .pf-tick").count() >= 3


def test_legal_lands_on_the_contracts_waiting(
    live_server: str, page: Page, demo_today: None
) -> None:
    _sign_in(page, live_server, "legal")
    screenshot(page, "home-legal")
    todos = _todos(page)
    assert todos["contracts-to-sign"] == 1 and "holds" not in todos, todos
    assert "Договоры отправлены и ждут подписанного экземпляра" in page.inner_text("#todays-work")
    _assert_russian_and_one_row(page)
    with page.expect_navigation():
        page.click("#todays-work [data-todo=contracts-to-sign]")
    assert "/contracts/list/" in page.url


def test_an_integration_lands_on_its_refused_events_and_keys(
    app: Flask, live_server: str, page: Page, demo_today: None
) -> None:
    with app.app_context():
        # the demo's own events the rules rejected (loaded today), plus the two above
        rejected = db.session.scalar(
            sa.select(sa.func.count(SalesEvent.id)).where(
                SalesEvent.status == EventStatus.rejected, SalesEvent.source == "shop"
            )
        )
    _sign_in(page, live_server, "integration")
    screenshot(page, "home-integration")
    shop = page.locator("#rejections tr[data-source=shop] td").nth(1).inner_text()
    assert int(re.sub(r"\D", "", shop)) == 2 + (rejected or 0)
    assert _todos(page)["rejections"] >= 2 + (rejected or 0)
    assert "Действующие ключи" in page.inner_text("#api-keys")
    _assert_russian_and_one_row(page)


def test_a_partner_lands_on_documents_to_sign_and_new_statements(
    live_server: str, page: Page, demo_today: None
) -> None:
    _sign_in(page, live_server, "partner")
    assert page.url.endswith("/portal/")
    screenshot(page, "home-partner")
    assert _todos(page) == {"sign": 1, "statements": 1}
    assert "Договоры, которые нужно подписать и вернуть" in page.inner_text("#todays-work")
    _assert_russian_and_one_row(page)
    with page.expect_navigation():
        page.click("#todays-work [data-todo=sign]")
    assert page.url.endswith("/portal/statements#contracts")
    assert page.locator("#contracts tbody tr").count() == 1
