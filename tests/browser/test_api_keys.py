"""An admin issues an API key for a store's checkouts and revokes it, in Russian: the
form's fields have labels, the revoke section says what it does and asks first."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page

from server.security.commands import NewUser, create_user
from server.security.roles import Role
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "admin-pass-1"


def test_an_admin_issues_and_revokes_a_key(app: Flask, live_server: str, page: Page) -> None:
    with app.app_context():
        create_user(NewUser("ada", PASSWORD, Role.ADMIN, "Ada", "Admin", "ada@x.test"))
    log_in(page, live_server, "ada", PASSWORD)
    page.goto(f"{live_server}/apikeys/list/")
    # Regression: the inputs had placeholders only, and «Отозвать ключ» headed nothing
    assert page.locator("#revoke-keys-empty").inner_text() == "Активных ключей нет."
    page.get_by_label("Наименование").fill("Кассы магазинов Москвы")
    page.get_by_label("Источник").fill("pos-msk")
    with page.expect_navigation():
        page.get_by_role("button", name="Создать ключ").click()
    key = page.locator("#api-key").inner_text().strip()
    assert len(key) > 20
    page.get_by_role("link", name="К списку API-ключей").click()
    row = page.locator("#revoke-keys li")
    assert "Кассы магазинов Москвы (pos-msk" in row.inner_text()
    screenshot(page, "api-keys-01-issued")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss() if len(asked) == 1 else dialog.accept()

    page.on("dialog", answer)
    row.get_by_role("button", name="Отозвать").click()  # dismissed: nothing happens
    assert page.locator("#revoke-keys li").count() == 1
    with page.expect_navigation():
        row.get_by_role("button", name="Отозвать").click()
    assert asked[0].startswith("Отозвать ключ «Кассы магазинов Москвы»?")
    assert page.locator("#revoke-keys-empty").is_visible()


def test_an_integration_finds_the_api_documentation_from_the_menu(
    app: Flask, live_server: str, page: Page
) -> None:
    # Regression: Swagger was linked from nowhere, and its badges were white on white
    with app.app_context():
        create_user(
            NewUser("shop", PASSWORD, Role.INTEGRATION, "Интеграция", "Магазина", "s@x.test")
        )
    log_in(page, live_server, "shop", PASSWORD)
    with page.expect_navigation():
        page.get_by_role("link", name="Документация API").click()
    assert "POST /api/v1/events" in page.locator("#api-intro").inner_text()
    page.locator("#swagger-ui .opblock-summary-path", has_text="/api/v1/events").wait_for()
    badge = page.locator("#swagger-ui .info .title small pre").first
    colours = badge.evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor,"
        " getComputedStyle(e.parentElement).backgroundColor]"
    )
    text, own_background, badge_background = colours
    assert own_background in ("rgba(0, 0, 0, 0)", "transparent"), colours
    assert text != badge_background, colours
    screenshot(page, "api-docs-integration")
