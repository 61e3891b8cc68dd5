"""CSRF: with protection on, no route changes anything by GET or by a token-less POST.

Runs with ``WTF_CSRF_ENABLED`` on (the session's conftest turns it off for the other
tests) over the demo data (``demo_app``), so path arguments name real rows. Writes are
seen at the source: every INSERT, UPDATE and DELETE the engine runs during a request (a
row count would miss an UPDATE).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_appbuilder.security.sqla.models import Group, Role, User

from server.extensions import db
from server.security.commands import NewUser, create_user
from server.security.roles import Role as RoleName
from tests.support.crawl import WriteRecorder, fill, page_token, real_pk, real_values
from tests.support.web import log_in

#: the only POST routes without the token check: Flask-AppBuilder's REST APIs, which
#: act on an API key header (events) or credentials / a JWT in the body (login,
#: refresh), never on the session cookie a forged request would carry
EXEMPT = {"EventsApi.post", "SecurityApi.login", "SecurityApi.refresh"}
FOREIGN = {"Referer": "https://evil.example/page"}
#: a form body that would pass the views' own checks where they are simple
BODY = {"action": "x", "rowid": ["1", "2"], "name": "x", "source": "x", "verdict": "approve"}


def test_a_link_from_another_site_deletes_no_user_role_or_group(demo_app: Flask) -> None:
    """The probe's finding: ``GET /users/delete/7`` with a foreign Referer deleted."""
    app = demo_app
    with app.app_context():
        group = Group(name="g-probe", label="g")
        db.session.add(group)
        db.session.commit()
        targets = {
            "users": db.session.scalar(sa.select(User.id).where(User.username == "legal")),
            "roles": db.session.scalar(sa.select(Role.id).where(Role.name == "Legal")),
            "groups": group.id,
        }
    admin = log_in(app, "admin", "admin-demo")
    recorder = WriteRecorder()
    with recorder.recording(app):
        for screen, pk in targets.items():
            response = admin.get(f"/{screen}/delete/{pk}", headers=FOREIGN)
            assert response.status_code == 405, (screen, response.status_code)
            assert response.headers["Allow"] == "POST"
            response = admin.get(f"/{screen}/action/muldelete/{pk}", headers=FOREIGN)
            assert response.status_code in (404, 405), (screen, response.status_code)
    assert recorder.writes == []
    with app.app_context():
        assert db.session.get(User, targets["users"]) is not None
        assert db.session.get(Role, targets["roles"]) is not None
        assert db.session.get(Group, targets["groups"]) is not None


def test_no_post_changes_state_without_a_csrf_token(demo_app: Flask) -> None:
    """Every POST route in the URL map, as admin, with real ids and no token: refused
    with 400 and the reason, nothing written; only the token-authenticated APIs are
    exempt, and a session cookie alone gets nothing from them."""
    app = demo_app
    admin = log_in(app, "admin", "admin-demo")
    values = real_values(app)
    recorder = WriteRecorder()
    wrong, exempt_seen = [], set()
    with recorder.recording(app):
        for rule in app.url_map.iter_rules():
            if "POST" not in (rule.methods or set()):
                continue
            path = fill(rule, values, real_pk(app, rule))
            response = admin.post(path, data=BODY, headers=FOREIGN)
            if rule.endpoint in EXEMPT:
                exempt_seen.add(rule.endpoint)
                if response.status_code < 400:
                    wrong.append(f"{path}: {response.status_code} for a cookie alone")
                continue
            body = response.get_data(as_text=True)
            # the refusal's reason, in the default language (Russian)
            if response.status_code != 400 or "Форма устарела" not in body:
                wrong.append(f"{path}: {response.status_code}")
    assert not wrong, wrong
    assert exempt_seen == EXEMPT
    assert recorder.writes == []
    assert admin.post("/api/v1/events", json={"events": []}).status_code == 401


def test_a_json_post_without_the_header_is_refused(demo_app: Flask) -> None:
    """The contract editor's preview posts with an ``X-CSRFToken`` header: without it,
    refused; with the page's token, answered."""
    app = demo_app
    admin = log_in(app, "admin", "admin-demo")
    with app.app_context():
        from server.documents.models import ContractTemplate

        template = db.session.scalar(sa.select(ContractTemplate.id).limit(1))
    url = f"/contracttemplateview/preview/{template}"
    assert admin.post(url, data={"body_html": "<p>x</p>"}).status_code == 400
    token = page_token(admin.get(f"/contracttemplateview/editor/{template}").get_data(True))
    response = admin.post(url, data={"body_html": "<p>x</p>"}, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_with_the_pages_token_the_same_post_works(demo_app: Flask) -> None:
    app = demo_app
    with app.app_context():
        victim = create_user(NewUser("tmp", "secret-pass-1", RoleName.LEGAL, "T", "T", "t@x.test"))
    admin = log_in(app, "admin", "admin-demo")
    form_token = page_token(admin.get("/users/list/").get_data(as_text=True))
    response = admin.post(f"/users/delete/{victim}", data={"csrf_token": form_token})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, victim) is None
