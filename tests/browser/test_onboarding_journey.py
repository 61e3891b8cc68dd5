"""A manager new to Partnerflow onboards a brand ambassador in Chromium, in Russian, by
clicks and typing only: from the menu to the partner's workflow, through a checklist of
what each step still needs (fields filled in on the partner's form, a document
uploaded, an approval and a course ticked off), past the contract a lawyer signs.
No screen may show an internal key, and the diagram and the board fit the window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Locator, Page

from server.documents.contracts import mark_contract_sent, record_signed_contract
from server.documents.models import Contract
from server.extensions import db
from server.security.roles import Role
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

TITLE = "Онбординг бренд-амбассадора"
#: keys of the ambassador workflow a person must never read on its screens
KEYS = (
    "application",
    "selection",
    "phone",
    "legal_name",
    "inn",
    "passport",
    "brand_ambassador",
    "contract_signed",
    "approve_partner",
    "training_done",
    "generate_contract",
    "notify_email",
    "system",
    "Legal",
)


@pytest.fixture
def ambassador_world(wf_app: Flask) -> Iterator[dict[str, int | str]]:  # noqa: F811
    from flask_appbuilder.security.sqla.models import User

    from server.partners.models import PartnerKind

    with wf_app.app_context():
        seed_onboarding()
        partner_id = add_partner("AMB-NEW", PartnerKind.ambassador)  # with an e-mail only
        manager_id = make_user(Role.MANAGER)
        instance = start_workflow("partner", partner_id, manager_id)
        username = db.session.get(User, manager_id).username
        yield {"partner_id": partner_id, "instance_id": instance.id, "username": username}


def _menu(page: Page, category: str, item: str) -> None:
    page.click(f"a.dropdown-toggle:has-text('{category}')")
    with page.expect_navigation():
        page.click(f"ul.dropdown-menu a:has-text('{item}')")


def _open_instance(page: Page) -> None:
    """Onboarding → boards → the ambassador board → the partner's card."""
    _menu(page, "Онбординг", "Доски онбординга")
    with page.expect_navigation():
        page.click(f"tr:has-text('{TITLE}') a:has-text('Доска')")
    with page.expect_navigation():
        page.click(".pf-card a.pf-card-title:has-text('AMB-NEW')")


def _assert_no_keys(page: Page) -> None:
    text = page.inner_text("body")
    shown = [key for key in KEYS if key in text]
    assert shown == [], f"internal keys on the page: {shown}"


def _assert_fits(page: Page, state: str) -> None:
    """Nothing wider than the window; the current state drawn inside it."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    current = page.locator(f'svg.pf-diagram g.pf-state[data-state="{state}"] rect').first
    drawn = current.bounding_box()
    viewport = page.viewport_size
    assert drawn is not None and viewport is not None
    right = viewport["width"]
    assert drawn["x"] >= 0 and drawn["x"] + drawn["width"] <= right
    box = page.locator(".pf-diagram-box").bounding_box()
    svg = page.locator("svg.pf-diagram").bounding_box()
    assert box is not None and svg is not None
    assert svg["width"] <= box["width"] + 1  # the diagram is drawn to the page's width


def _item(page: Page, guard: str, name: str = "") -> Locator:
    selector = f'.pf-req[data-guard="{guard}"]' + (f'[data-name="{name}"]' if name else "")
    return page.locator(selector).first


def _take(page: Page, step: str) -> None:
    with page.expect_navigation():
        page.click(f".pf-option button:has-text('{step}')")


@pytest.mark.browser
def test_onboarding_manager_follows_the_checklist_in_russian(
    app: Flask,
    live_server: str,
    page: Page,
    ambassador_world: dict,
    tmp_path: Path,
) -> None:
    instance_id = int(ambassador_world["instance_id"])
    log_in(page, live_server, str(ambassador_world["username"]), PASSWORD)

    # -- the board: every column fits its cards, the board fits the window --------
    _menu(page, "Онбординг", "Доски онбординга")
    with page.expect_navigation():
        page.click(f"tr:has-text('{TITLE}') a:has-text('Доска')")
    for width in (1920, 1280):  # a wide screen and a laptop
        page.set_viewport_size({"width": width, "height": 900})
        overflowing = page.evaluate(
            """[...document.querySelectorAll('.pf-column, .pf-card')]
                 .filter(c => c.scrollWidth > c.clientWidth + 1).length"""
        )
        assert overflowing == 0, f"{overflowing} columns or cards overflow at {width}px"
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "onboarding-ru-board")
    page.set_viewport_size({"width": 1920, "height": 1000})
    _assert_no_keys(page)

    with page.expect_navigation():
        page.click(".pf-card a.pf-card-title:has-text('AMB-NEW')")
    screenshot(page, "onboarding-ru-application")
    _assert_fits(page, "application")
    _assert_no_keys(page)
    assert (_item(page, "field_filled", "email").get_attribute("class") or "").count("pf-met") == 1
    _take(page, "Принять заявку")
    assert instance_state(app, instance_id) == "goals"

    # -- goals: the phone is missing; the checklist links to the partner's form ---
    phone = _item(page, "field_filled", "phone")
    assert "Телефон" in phone.inner_text()
    _assert_no_keys(page)
    with page.expect_navigation():
        phone.locator("a.pf-fill").click()
    page.fill("input[name=phone]", "+7 900 123-45-67")
    page.fill("input[name=legal_name]", "ИП Новиков")
    page.fill("input[name=inn]", "7707083893")
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('Сохранить')")
    if f"/workflows/instance/{instance_id}" not in page.url:
        _open_instance(page)
    assert "pf-met" in (_item(page, "field_filled", "phone").get_attribute("class") or "")
    _take(page, "Цели согласованы")
    assert instance_state(app, instance_id) == "selection"

    # -- selection: a document and an approval, each done from its own line ------
    screenshot(page, "onboarding-ru-selection")
    passport = _item(page, "documents_uploaded", "passport")
    assert "Паспорт" in passport.inner_text()
    scan = tmp_path / "паспорт.pdf"
    scan.write_bytes(b"%PDF-1.4 passport scan")
    passport.locator("input[type=file]").set_input_files(str(scan))
    with page.expect_navigation():
        passport.locator("button:has-text('Загрузить')").click()
    approval = _item(page, "manager_approval", "selection")
    assert "Отбор партнёра" in approval.inner_text()
    with page.expect_navigation():
        approval.locator("button:has-text('Одобрить')").click()
    # the "Record" forms pick from the workflow's own items, by title; no free text
    assert page.locator(".pf-evidence input[type=text][name=name]").count() == 0
    assert "Курс бренд-амбассадора" in page.inner_text(".pf-evidence select[name=name] >> nth=1")
    _assert_no_keys(page)
    _take(page, "Одобрить партнёра")
    assert instance_state(app, instance_id) == "contract"

    # -- contract: the manager sees its state and who records the signature -------
    run_worker(app)  # generate_contract and the e-mail, then the PDF
    page.reload()
    contract = _item(page, "contract_signed")
    assert "юрист" in contract.inner_text()
    assert "черновик" in contract.inner_text()
    assert contract.locator("a").count() == 0  # a manager has no Documents menu
    _assert_no_keys(page)
    _assert_fits(page, "contract")
    page.set_viewport_size({"width": 1280, "height": 900})
    _assert_fits(page, "contract")
    page.set_viewport_size({"width": 1920, "height": 1000})
    screenshot(page, "onboarding-ru")
    with app.app_context():  # the lawyer's part, on the Documents screens
        row = db.session.scalar(sa.select(Contract))
        mark_contract_sent(row.id)
        record_signed_contract(row.id, "signed.pdf", b"%PDF-1.4 signed")
    page.reload()
    assert "pf-met" in (_item(page, "contract_signed").get_attribute("class") or "")
    _take(page, "Договор подписан")
    assert instance_state(app, instance_id) == "training"

    # -- training: tick the course off, then the step opens -----------------------
    course = _item(page, "training_completed", "brand_ambassador")
    with page.expect_navigation():
        course.locator("button").click()
    _take(page, "Обучение пройдено")
    assert instance_state(app, instance_id) == "activation"
    run_worker(app)
    page.reload()
    _assert_no_keys(page)
    screenshot(page, "onboarding-ru-activation")
