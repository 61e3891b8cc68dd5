"""Admins create and revoke integration keys in the browser; the key is shown once."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.security.api_keys import find_active_key
from server.security.models import ApiKey
from server.security.roles import Role
from tests.support.web import login


def test_admin_creates_a_key_shown_once_then_revokes_it(app: Flask) -> None:
    client = login(app, Role.ADMIN)
    assert client.get("/apikeys/list/").status_code == 200
    page = client.post("/apikeys/issue", data={"name": "Касса Москва", "source": "pos-msk"})
    assert page.status_code == 200
    found = re.search(r'<pre id="api-key">([^<]+)</pre>', page.get_data(as_text=True))
    assert found is not None
    key = found.group(1)
    with app.app_context():
        row = db.session.scalar(sa.select(ApiKey))
        assert row is not None and row.source == "pos-msk"
        assert key not in (row.key_sha256, row.prefix) and key.startswith(f"pf_{row.prefix}_")
        assert find_active_key(key) is not None
    listing = client.get("/apikeys/list/").get_data(as_text=True)
    assert key not in listing and "pos-msk" in listing
    client.post(f"/apikeys/revoke/{row.id}")
    with app.app_context():
        assert find_active_key(key) is None
    bad = client.post(
        "/apikeys/issue",
        data={"name": "x", "source": "Not A Slug"},
        follow_redirects=True,
    )
    assert "строчные латинские буквы, цифры" in bad.get_data(as_text=True)


def test_managers_cannot_manage_keys(app: Flask) -> None:
    client = login(app, Role.MANAGER)
    assert client.get("/apikeys/list/").status_code in (302, 403)
    assert client.post("/apikeys/issue", data={"name": "x", "source": "pos"}).status_code in (
        302,
        403,
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ApiKey.id))) == 0
