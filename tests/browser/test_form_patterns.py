"""The browser checks what a pattern attribute promises: Chromium compiles ``pattern``
with the regular expressions' ``v`` flag, where an unescaped ``-`` at the end of a
character class is an error, and an invalid pattern lets every value through."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page

from server.security.commands import NewUser, create_user
from server.security.roles import Role
from tests.browser.conftest import log_in

PASSWORD = "secret-pass-1"


@pytest.mark.browser
def test_every_pattern_compiles_and_refuses_a_bad_code(
    app: Flask, live_server: str, page: Page
) -> None:
    with app.app_context():
        create_user(NewUser("patterns", PASSWORD, Role.ADMIN, "P", "P", "p@x.test"))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    log_in(page, live_server, "patterns", PASSWORD)
    for path, field, good in (
        ("/imports/", "source", "pos-msk.2"),
        ("/apikeys/list/", "source", "pos-msk.2"),
        ("/campaign-workspace/", "slug", "spring-2026"),
    ):
        page.goto(f"{live_server}{path}")
        box = page.locator(f"input[name={field}]").first
        box.fill("BAD SLUG!")
        assert box.evaluate("e => e.checkValidity()") is False, path
        box.fill(good)
        assert box.evaluate("e => e.validity.patternMismatch") is False, path
    assert not [e for e in errors if "pattern" in e.lower()], errors
