"""The UI speaks Russian by default, switches to English, and formats roubles per locale."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask

from server.i18n import format_money
from server.security.commands import NewUser, create_user
from server.security.roles import Role


def test_menu_in_russian_then_english(app: Flask) -> None:
    with app.app_context():
        create_user(NewUser("m", "secret-pass-1", Role.MANAGER, "M", "M", "m@example.test"))
    client = app.test_client()
    client.post("/login/", data={"username": "m", "password": "secret-pass-1"})
    russian = client.get("/partnerview/list/").get_data(as_text=True)
    assert "Партнёры" in russian and "Начисления" in russian
    client.get("/lang/en")
    english = client.get("/partnerview/list/").get_data(as_text=True)
    assert "Partners" in english and "Accruals" in english
    assert "Начисления" not in english


def test_roubles_are_formatted_per_locale(app: Flask) -> None:
    with app.test_request_context("/?_l_=ru"):
        assert format_money(Decimal("1234567.5")) == "1\xa0234\xa0567,50\xa0₽"
        assert format_money(Decimal("-0.5")) == "-0,50\xa0₽"
    with app.test_request_context("/?_l_=en"):
        assert format_money(Decimal("1234567.5")) == "1,234,567.50\xa0₽"
