"""Password guessing is limited per account and per address, in the session's real Redis,
for every web process at once; locks grow, are audited, and an administrator lifts them."""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.audit.models import AuditEntry
from server.extensions import db
from server.queues import redis_connection
from server.security.commands import NewUser, create_user
from server.security.roles import Role

PASSWORD = "secret-pass-1"
API_LOGIN = "/api/v1/security/login"


def _users(app: Flask) -> None:
    with app.app_context():
        create_user(NewUser("root", PASSWORD, Role.ADMIN, "R", "R", "root@x.test"))
        create_user(NewUser("mia", PASSWORD, Role.MANAGER, "M", "M", "mia@x.test"))


def _api_login(client: FlaskClient, username: str, password: str) -> int:
    body = {"username": username, "password": password, "provider": "db"}
    return client.post(API_LOGIN, json=body).status_code


def _form_login(client: FlaskClient, username: str, password: str) -> int:
    return client.post("/login/", data={"username": username, "password": password}).status_code


def _second_process(app: Flask) -> Flask:
    """Another app over the same database and Redis: what a second gunicorn worker is."""
    from server.app import create_app

    shared = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "INSTANCE_PATH", "SECRET_KEY", "TESTING")
    return create_app({**{key: app.config[key] for key in shared}, "WTF_CSRF_ENABLED": False})


def test_wrong_passwords_lock_the_account_across_processes(app: Flask) -> None:
    """The probe sent 200 wrong passwords in 33 s, 10-20 of every 40 checked per
    process; now, over two processes, five are checked and the rest wait."""
    _users(app)
    first, second = app.test_client(), _second_process(app).test_client()
    codes = [_api_login((first, second)[n % 2], "mia", f"guess-{n}") for n in range(40)]
    assert codes[:5] == [401] * 5, codes
    assert codes[5:] == [429] * 35, codes
    locked = first.post(API_LOGIN, json={"username": "mia", "password": PASSWORD, "provider": "db"})
    assert locked.status_code == 429
    assert "неудачных входов в эту учётную запись" in locked.get_json()["message"]
    assert 0 < int(locked.headers["Retry-After"]) <= 30
    # the form login shares the lock, in the user's language, and the same e-mail counts
    form = second.post("/login/", data={"username": "mia@x.test", "password": PASSWORD})
    assert form.status_code == 429
    assert "попросите администратора снять блокировку" in form.get_data(as_text=True)


def test_each_further_failure_doubles_the_lock_and_is_audited(app: Flask) -> None:
    from server.security.login_throttle import PREFIX

    _users(app)
    client = app.test_client()
    connection = redis_connection(app)
    for n in range(5):
        assert _form_login(client, "mia", f"guess-{n}") == 302  # back to the form, refused
    with app.app_context():
        mia = db.session.scalar(sa.text("select id from ab_user where username = 'mia'"))
    lock = f"{PREFIX}:lock:account:id-{mia}"
    assert 25 < connection.ttl(lock) <= 30
    connection.pexpire(lock, 1)  # the 30 s have passed
    while connection.exists(lock):
        time.sleep(0.01)
    assert _form_login(client, "mia", "guess-6") == 302  # checked, and wrong again
    assert 55 < connection.ttl(lock) <= 60
    assert _form_login(client, "mia", PASSWORD) == 429  # even the right one waits
    with app.app_context():
        entries = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "login_locked")
        ).all()
        assert [(e.entity_type, e.entity_id, e.after["seconds"]) for e in entries] == [
            ("login_account", "mia", 30),
            ("login_account", "mia", 60),
        ]


def test_an_administrator_sees_and_lifts_a_lock_in_russian_and_english(app: Flask) -> None:
    _users(app)
    admin = app.test_client()
    assert _form_login(admin, "root", PASSWORD) == 302
    victim = app.test_client()
    for n in range(6):
        _api_login(victim, "mia", f"guess-{n}")
    assert _api_login(victim, "mia", PASSWORD) == 429
    page = admin.get("/login-locks/").get_data(as_text=True)
    assert "Блокировки входа" in page and "Логин mia" in page and "Разблокировать" in page
    admin.get("/lang/en")
    page = admin.get("/login-locks/").get_data(as_text=True)
    assert "Login locks" in page and "Login mia" in page and "Unlock" in page
    assert admin.get("/login-locks/unlock").status_code == 405  # a GET lifts nothing
    with app.app_context():
        mia = db.session.scalar(sa.text("select id from ab_user where username = 'mia'"))
    response = admin.post("/login-locks/unlock", data={"scope": "account", "key": f"id-{mia}"})
    assert response.status_code == 302
    assert "No login is locked now" in admin.get("/login-locks/").get_data(as_text=True)
    assert _api_login(victim, "mia", PASSWORD) == 200
    with app.app_context():
        entry = db.session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "login_unlocked")
        )
        assert entry is not None and (entry.actor_name, entry.entity_id) == ("root", "mia")
    # only an administrator may lift one
    manager = app.test_client()
    assert _form_login(manager, "mia", PASSWORD) == 302
    refused = manager.post("/login-locks/unlock", data={"scope": "account", "key": f"id-{mia}"})
    assert refused.status_code in (302, 403) and "/login-locks" not in refused.headers.get(
        "Location", ""
    )


def test_one_address_guessing_many_accounts_is_locked_but_others_are_not(app: Flask) -> None:
    _users(app)
    attacker = app.test_client()
    codes = [_api_login(attacker, f"nobody-{n}", "guess") for n in range(25)]
    assert codes[:20] == [401] * 20 and codes[20:] == [429] * 5, codes
    assert _api_login(attacker, "mia", PASSWORD) == 429  # the address is locked
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.7"
    assert _api_login(elsewhere, "mia", PASSWORD) == 200


def test_a_successful_login_clears_the_account_failures(app: Flask) -> None:
    _users(app)
    client = app.test_client()
    for _round in range(3):
        assert [_api_login(client, "mia", "wrong") for _ in range(4)] == [401] * 4
        assert _api_login(client, "mia", PASSWORD) == 200


def test_parallel_guesses_cannot_slip_past_the_lock(app: Flask) -> None:
    """Thirty attempts at once (threads, each its own request): at most the five free
    ones and the one that takes the first lock get their password checked."""
    from concurrent.futures import ThreadPoolExecutor

    from server.security.login_throttle import LoginLocked, reserve

    def attempt(n: int) -> bool:
        with app.test_request_context("/login/", method="POST"):
            try:
                reserve("id-999", "someone", f"10.0.1.{n}")
            except LoginLocked:
                return False
            return True

    with ThreadPoolExecutor(max_workers=30) as pool:
        checked = sum(pool.map(attempt, range(30)))
    assert checked == 6, checked
