"""CSRF: with protection on, no state-changing route changes anything without a token."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_appbuilder import Model

from server.demo.commands import load_demo
from server.extensions import db
from server.security.commands import NewUser, create_user
from server.security.roles import Role

#: routes that take no session cookie (keys or credentials) and so need no CSRF token
EXEMPT = {"EventsApi.post", "SecurityApi.login", "SecurityApi.refresh", "AuthDBView.login"}


def _counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
        for table in Model.metadata.sorted_tables
    }


def _fill(rule: Any) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[a-z]+:)?{name}>", "1", path)
    return path


def test_no_post_changes_state_without_a_csrf_token(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        load_demo()
        create_user(NewUser("root", "secret-pass-1", Role.ADMIN, "R", "R", "r@x.test"))
        before = _counts()
    client = app.test_client()
    login_page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page)
    assert token is not None
    client.post(
        "/login/",
        data={"username": "root", "password": "secret-pass-1", "csrf_token": token.group(1)},
    )
    assert client.get("/users/list/").status_code == 200  # logged in as admin
    posted = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()) or rule.endpoint in EXEMPT:
            continue
        response = client.post(
            _fill(rule),
            data={
                "action": "approve",
                "rowid": ["1", "2"],
                "name": "x",
                "source": "x",
                "verdict": "approve",
            },
        )
        assert response.status_code < 500, (rule.rule, response.status_code)
        posted.append(rule.rule)
    with app.app_context():
        after = _counts()
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    assert not changed, f"changed without a CSRF token: {changed}"
    assert len(posted) > 40


def test_with_the_pages_token_the_same_post_works(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        create_user(NewUser("root", "secret-pass-1", Role.ADMIN, "R", "R", "r@x.test"))
        victim = create_user(NewUser("tmp", "secret-pass-1", Role.LEGAL, "T", "T", "t@x.test"))
    client = app.test_client()
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None
    client.post(
        "/login/",
        data={"username": "root", "password": "secret-pass-1", "csrf_token": token.group(1)},
    )
    listing = client.get("/users/list/").get_data(as_text=True)
    form_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', listing)
    assert form_token is not None, "FAB's list page carries a CSRF token for its forms"
    client.post(f"/users/delete/{victim}", data={"csrf_token": form_token.group(1)})
    with app.app_context():
        from flask_appbuilder.security.sqla.models import User

        assert db.session.get(User, victim) is None
