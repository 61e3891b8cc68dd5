"""Locale helpers: money in roubles formatted per the user's language."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Flask
from flask_babel import get_locale
from markupsafe import Markup, escape

from server.documents.formatting import format_money_in, format_rounded_money_in
from server.labels import format_day, format_moment, shown_value, system_note, value_label


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ru"


def format_money(amount: Decimal | int | None, currency: str = "RUB") -> str:
    """``1234.5`` → ``1 234,50 ₽`` in Russian, ``1,234.50 ₽`` in English: the
    documents' :func:`format_money_in`, in the user's language."""
    return format_money_in(amount, current_language(), currency)


def format_rounded_money(amount: Decimal | int | None, currency: str = "RUB") -> str:
    """``1234.5`` → ``1 235 ₽`` in Russian: a chart's value label, to the rouble."""
    return format_rounded_money_in(amount, current_language(), currency)


def format_number(value: Decimal | int | None) -> str:
    if value is None:
        return "—"
    return format_decimal(value, locale=current_language())


def format_month(value: str) -> str:
    """A ``2026-07`` month key as the reader names it: ``июль 2026``, ``Jul 2026``;
    anything else is returned as it is."""
    try:
        month = date.fromisoformat(f"{value}-01")
    except ValueError:
        return value
    return format_date(month, "LLL yyyy", locale=current_language())


_CODE_SPAN = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> Markup:
    """Text with `backticked` machine names (a template's variables) as ``<code>``: a
    Russian sentence may name them, and a reader must see they are typed as written."""
    escaped = str(escape(text))
    return Markup(_CODE_SPAN.sub(r"<code>\1</code>", escaped))


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["label"] = value_label
    app.jinja_env.filters["shown"] = shown_value
    app.jinja_env.filters["system_note"] = system_note
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["month"] = format_month
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["moment"] = format_moment
    app.jinja_env.filters["code_spans"] = code_spans
