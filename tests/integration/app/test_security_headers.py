"""Security headers, the CSP nonce on scripts, cookie flags and login rate limiting."""

from __future__ import annotations

import re

from flask import Flask

from server.security.commands import NewUser, create_user
from server.security.roles import Role


def test_every_page_carries_security_headers_and_nonced_scripts(app: Flask) -> None:
    with app.app_context():
        create_user(NewUser("a", "secret-pass-1", Role.ADMIN, "A", "A", "a@x.test"))
    client = app.test_client()
    login = client.get("/login/")
    assert login.headers["X-Content-Type-Options"] == "nosniff"
    assert login.headers["X-Frame-Options"] == "SAMEORIGIN"
    policy = login.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    client.post("/login/", data={"username": "a", "password": "secret-pass-1"})
    page = client.get("/partnerview/list/")
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)  # type: ignore[union-attr]
    html = page.get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline, "the list page has inline scripts to check"
    assert all(f'nonce="{nonce}"' in attributes for attributes in inline)
    other = client.get("/partnerview/list/").headers["Content-Security-Policy"]
    assert nonce not in other  # a fresh nonce per response


def test_session_cookie_flags(app: Flask) -> None:
    with app.app_context():
        create_user(NewUser("a", "secret-pass-1", Role.ADMIN, "A", "A", "a@x.test"))
    response = app.test_client().post(
        "/login/", data={"username": "a", "password": "secret-pass-1"}
    )
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; PARTNERFLOW_HTTPS=1 turns it on
    app.config["SESSION_COOKIE_SECURE"] = True
    secure = app.test_client().post("/login/", data={"username": "a", "password": "secret-pass-1"})
    assert any(
        "Secure" in h for h in secure.headers.getlist("Set-Cookie") if h.startswith("session=")
    )


def test_unknown_fab_actions_are_404_not_500(app: Flask) -> None:
    with app.app_context():
        create_user(NewUser("a", "secret-pass-1", Role.ADMIN, "A", "A", "a@x.test"))
    anonymous = app.test_client()
    # an action by GET is refused before anything looks it up
    assert anonymous.get("/partnerview/action/nope/1").status_code == 405
    admin = app.test_client()
    admin.post("/login/", data={"username": "a", "password": "secret-pass-1"})
    assert admin.get("/users/action/nope/1").status_code == 405
    assert admin.post("/users/action/nope/1").status_code == 404
    assert admin.post("/accrualview/action_post", data={"action": "nope"}).status_code == 400
