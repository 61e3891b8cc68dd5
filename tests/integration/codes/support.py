"""Shared set-up for the codes, holds and ledger-screen tests."""

from __future__ import annotations

import uuid

from flask import Flask
from flask.testing import FlaskClient

from server.security.commands import NewUser, create_user
from server.security.roles import Role

PASSWORD = "secret-pass-1"


def login(app: Flask, role: Role = Role.MANAGER) -> FlaskClient:
    """A test client logged in as a new user with ``role``."""
    username = f"u-{role.value.lower()}-{uuid.uuid4().hex[:6]}"
    with app.app_context():
        create_user(NewUser(username, PASSWORD, role, "Test", "User", f"{username}@example.test"))
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert response.status_code in (200, 302)
    return client
