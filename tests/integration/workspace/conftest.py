"""The workspace screens on the app (registered here too until ``register_views`` does)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from server.security.commands import sync_roles


@pytest.fixture
def ws_app(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        sync_roles()
    yield app
