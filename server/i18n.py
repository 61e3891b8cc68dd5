"""Locale helpers: money in roubles formatted per the user's language."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from flask import Flask
from flask_babel import get_locale

from server.documents.formatting import format_money_in
from server.labels import shown_value, system_note, value_label


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ru"


def format_money(amount: Decimal | int | None, currency: str = "RUB") -> str:
    """``1234.5`` → ``1 234,50 ₽`` in Russian, ``1,234.50 ₽`` in English: the
    documents' :func:`format_money_in`, in the user's language."""
    return format_money_in(amount, current_language(), currency)


def format_number(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    return format_decimal(value, locale=current_language())


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["label"] = value_label
    app.jinja_env.filters["shown"] = shown_value
    app.jinja_env.filters["system_note"] = system_note
    app.jinja_env.filters["number"] = format_number
