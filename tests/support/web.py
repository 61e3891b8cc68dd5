"""Logging in from tests: one way, through the real login form with its CSRF token.

``login(app, role)`` makes a user of that role (a Partner login acts for ``partner``)
and returns a test client logged in as it; ``log_in`` logs an existing user in. Every
test that needs a session uses these, so a change to the login form (a token, a
throttle, a second factor) is made here once.
"""

from __future__ import annotations

import uuid

from flask import Flask
from flask.testing import FlaskClient

from server.security.commands import NewUser, create_user
from server.security.roles import Role
from tests.support.crawl import page_token

#: the password every test user gets
PASSWORD = "secret-pass-1"


def log_in(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    """A client logged in as ``username`` through the login form, with the form's token
    (when the app checks tokens: some fixtures turn the check off)."""
    client = app.test_client()
    form = {"username": username, "password": password}
    if app.config.get("WTF_CSRF_ENABLED", True):
        form["csrf_token"] = page_token(client.get("/login/").get_data(as_text=True))
    response = client.post("/login/", data=form)
    assert response.status_code == 302, f"login of {username!r} failed ({response.status_code})"
    return client


def login(
    app: Flask,
    role: Role = Role.MANAGER,
    partner: str | None = None,
    *,
    username: str | None = None,
) -> FlaskClient:
    """A client logged in as a user of ``role``; a Partner login acts for ``partner``.

    ``username`` names the user (made on first use, reused after); by default each call
    makes a new one.
    """
    username = username or f"u-{role.value.lower()}-{uuid.uuid4().hex[:6]}"
    with app.app_context():
        sm = app.extensions["appbuilder"].sm
        if sm.find_user(username=username) is None:
            email = f"{username}@example.test"
            create_user(NewUser(username, PASSWORD, role, "Тест", username, email, partner))
    return log_in(app, username)
