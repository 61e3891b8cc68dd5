"""The workspace screens on the app (registered here too until ``register_views`` does)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.security.commands import NewUser, create_user, sync_roles
from server.security.roles import Role

PASSWORD = "secret-pass-1"


@pytest.fixture
def ws_app(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        sync_roles()
    yield app


def login_as(app: Flask, username: str, role: Role) -> FlaskClient:
    with app.app_context():
        create_user(NewUser(username, PASSWORD, role, "U", username, f"{username}@x.test"))
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": PASSWORD})
    assert response.status_code in (200, 302)
    return client
