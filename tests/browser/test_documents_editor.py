"""Legal opens the contract template editor and a diff in Chromium: the live preview
renders, and no font (nor anything else) is blocked by the policy or missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page

from server.documents.templates import save_template
from server.security.commands import NewUser, create_user
from server.security.roles import Role
from tests.browser.conftest import log_in, screenshot
from tests.integration.documents.conftest import agreement_ru, make_world

PASSWORD = "secret-pass-1"


@pytest.fixture
def template_ids(app: Flask, tmp_path: Path) -> Iterator[dict[str, int]]:
    app.config["FILES_DIR"] = str(tmp_path / "files")
    app.config["WTF_CSRF_ENABLED"] = True  # the preview posts the page's token, as in production
    with app.app_context():
        make_world()
        create_user(NewUser("legal-fonts", PASSWORD, Role.LEGAL, "Л", "Ю", "lf@example.test"))
        published = agreement_ru()
        draft = save_template(published.id, published.body_html + "\n<p>v2</p>", published.css)
        yield {"published": published.id, "draft": draft.id}


@pytest.mark.browser
def test_the_editor_and_diff_load_nothing_blocked_or_missing(
    live_server: str, page: Page, template_ids: dict[str, int]
) -> None:
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"{message.text} ({message.location.get('url')})")
            if message.type == "error"
            else None
        ),
    )
    page.on(
        "requestfailed",
        lambda request: (
            problems.append(f"failed: {request.url} ({request.failure})")
            # a load the next navigation cancelled (the icon, typically) is not an error
            if request.failure != "net::ERR_ABORTED"
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status}: {response.url}")
            if response.status >= 400
            else None
        ),
    )
    log_in(page, live_server, "legal-fonts", PASSWORD)
    problems.clear()  # the login page's own requests are not under test

    with page.expect_response(lambda response: "/contracttemplateview/preview/" in response.url):
        page.goto(f"{live_server}/contracttemplateview/edit/{template_ids['published']}")
    assert f"/contracttemplateview/editor/{template_ids['published']}" in page.url
    preview = page.frame_locator("#pf-preview")
    preview.locator("text=A-2026").first.wait_for()
    page.wait_for_load_state("networkidle")
    screenshot(page, "documents-template-editor")

    page.goto(f"{live_server}/contracttemplateview/diff/{template_ids['draft']}")
    page.wait_for_load_state("networkidle")
    assert page.locator(".pf-diff").count() >= 1

    assert problems == []
