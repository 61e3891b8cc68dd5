"""The admin layout at common laptop widths: the navbar keeps to one row."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page

from server.security.commands import NewUser, create_user
from server.security.roles import Role
from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "admin-pass-1"


@pytest.mark.parametrize("width", [1280, 1366])
def test_the_admin_navbar_is_one_row(app: Flask, live_server: str, page: Page, width: int) -> None:
    # Regression: at 1366 px the admin's eight menus, language and name wrapped to two rows
    with app.app_context():
        create_user(NewUser("ada", PASSWORD, Role.ADMIN, "Ада", "Админова", "ada@x.test"))
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server, "ada", PASSWORD)
    screenshot(page, f"layout-navbar-{width}")
    brand = page.locator(".navbar-brand").bounding_box()
    user = page.locator(".navbar-right").last.bounding_box()
    navbar = page.locator(".navbar").bounding_box()
    assert brand is not None and user is not None and navbar is not None
    assert abs(user["y"] - brand["y"]) < 10, (brand, user)
    assert navbar["height"] < 70
