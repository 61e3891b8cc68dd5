"""A manager starts a program in Chromium, in Russian: «Новая программа» in the
workspace, a Russian title whose code is suggested as it is typed, a starter program,
then the rule builder on the new draft with the starter's rules, and publishing.
The form's screenshot is ``test-artifacts/new-program-ru.png`` (copied to
``docs/img/new-program-ru.png``)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page

from server.extensions import db
from server.programs.models import Program, VersionStatus
from server.programs.slugs import suggest_slug
from server.programs.starters import PROGRAM_STARTERS
from server.security.roles import Role
from tests.browser.conftest import log_in, screenshot
from tests.integration.workspace.conftest import ws_app  # noqa: F401
from tests.integration.workspace.helpers import load_basic
from tests.support.web import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.spec_examples]

TITLE = "Сетка баллов: магазины Щёлково 2027"


def test_a_manager_starts_a_program_from_a_starter_and_publishes_it(
    ws_app: Flask,  # noqa: F811
    live_server: str,
    page: Page,
) -> None:
    from server.security.commands import NewUser, create_user

    with ws_app.app_context():
        load_basic()
        create_user(NewUser("mira", PASSWORD, Role.MANAGER, "Mira", "Manager", "mira@x.test"))
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    log_in(page, live_server, "mira", PASSWORD)
    page.goto(f"{live_server}/workspace/")
    with page.expect_navigation():
        page.get_by_role("link", name="Новая программа").click()
    assert page.locator("h3").inner_text().strip() == "Новая программа"

    # the code follows the title as it is typed, transliterated as the server does
    page.locator("#pf-title").press_sequentially(TITLE)
    assert (
        page.input_value("#pf-slug")
        == suggest_slug(TITLE)
        == "setka-ballov-magaziny-shchelkovo-2027"
    )
    # a code typed by hand is kept when the title changes again
    page.fill("#pf-slug", "stores-points-2027")
    page.locator("#pf-title").press_sequentially(" (весна)")
    assert page.input_value("#pf-slug") == "stores-points-2027"
    # emptied, the code follows the title again
    page.fill("#pf-slug", "")
    page.fill("#pf-title", "")
    page.locator("#pf-title").press_sequentially("Сетка баллов для сети 2027")
    assert page.input_value("#pf-slug") == "setka-ballov-dlya-seti-2027"

    starter = PROGRAM_STARTERS["store-points"]
    page.check('[data-starter="store-points"] input[type=radio]')
    form_text = page.locator("#pf-new-program").inner_text()
    assert starter.title_in("ru") in form_text and starter.describe("ru") in form_text
    assert "Начать с" in form_text and "Пустая программа" in form_text
    assert "выберете участников" in form_text
    screenshot(page, "new-program-ru")
    assert script_errors == []

    # a code that is taken: the form comes back with the reason, the choices kept
    page.fill("#pf-slug", "example-2026")
    with page.expect_navigation():
        page.click("#pf-create-program")
    assert page.locator('[data-error-for="slug"]').inner_text() == (
        "Программа с кодом example-2026 уже есть: выберите другой код."
    )
    assert page.is_checked('[data-starter="store-points"] input[type=radio]')
    assert page.input_value("#pf-title") == "Сетка баллов для сети 2027"
    screenshot(page, "new-program-ru-refused")
    page.fill("#pf-slug", "")
    page.locator("#pf-title").press("End")
    page.locator("#pf-title").press_sequentially(" ")
    assert page.input_value("#pf-slug") == "setka-ballov-dlya-seti-2027"

    with page.expect_navigation():
        page.click("#pf-create-program")
    assert "/workspace/version/" in page.url
    page.locator(
        ".alert-success", has_text="Программа «Сетка баллов для сети 2027» создана"
    ).wait_for()
    rules = page.locator("#pf-rules")
    assert rules.locator("tr[data-rule]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-rule'))"
    ) == ["store-points", "store-tiers"]
    sentences = rules.inner_text()
    assert "балл" in sentences and "офлайн" in sentences, sentences
    page.locator("#pf-templates").wait_for()
    screenshot(page, "new-program-ru-draft")

    page.fill("#pf-publish input[name=effective_from]", "2027-01-01")
    page.click("#pf-publish button[type=submit]")
    page.locator("#pf-version-status").filter(has_text="опубликован").wait_for()
    with ws_app.app_context():
        program = db.session.scalar(
            sa.select(Program).where(Program.slug == "setka-ballov-dlya-seti-2027")
        )
        assert program is not None and program.title == "Сетка баллов для сети 2027"
        version = program.versions[0]
        assert version.status is VersionStatus.published
        assert version.effective_from == date(2027, 1, 1)
    assert script_errors == []
