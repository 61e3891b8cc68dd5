"""Pure formatting for documents: money, numbers and dates in the document's language.

A document is formatted in *its* language (the snapshot's ``language``), not the
viewer's, so re-rendering a stored snapshot gives the same text whoever asks. Money
is written as the pages write it (:func:`server.i18n.format_money` calls
:func:`format_money_in`): ``1 234,50 ₽`` / ``1,234.50 ₽``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import pass_context
from jinja2.runtime import Context

from server.rules.money import currency_sign

#: languages documents are written in
DOCUMENT_LANGUAGES = ("ru", "en")

#: partner kinds as words, per language
KIND_LABELS: dict[str, dict[str, str]] = {
    "ru": {
        "online_affiliate": "онлайн-партнёр",
        "offline_point": "офлайн-точка",
        "ambassador": "амбассадор бренда",
        "cofactor": "региональный кофактор",
    },
    "en": {
        "online_affiliate": "online affiliate",
        "offline_point": "offline point of sale",
        "ambassador": "brand ambassador",
        "cofactor": "regional co-factor",
    },
}


def _language(context: Context) -> str:
    language = context.get("language", "ru")
    return language if language in DOCUMENT_LANGUAGES else "ru"


def to_decimal(value: Any) -> Decimal:
    """A snapshot amount (``"1500.00"``, ``Decimal`` or ``int``) as ``Decimal``.

    Raises:
        ValueError: the value is not a number (floats are refused: money is exact).
    """
    if isinstance(value, bool | float):
        raise ValueError(f"not an exact amount: {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def format_money_in(amount: Any, language: str, currency: str = "RUB") -> str:
    """``1234.5`` → ``1 234,50 ₽`` (ru) or ``1,234.50 ₽`` (en); ``—`` for None."""
    if amount is None or amount == "":
        return "—"
    number = format_decimal(to_decimal(amount), format="#,##0.00", locale=language)
    return f"{number}\xa0{currency_sign(currency, language)}"


def format_rounded_money_in(amount: Any, language: str, currency: str = "RUB") -> str:
    """``1234.5`` → ``1 235 ₽`` (ru) or ``1,235 ₽`` (en): to the whole unit, where a
    chart has room for a value and not for its kopecks; ``—`` for None."""
    if amount is None or amount == "":
        return "—"
    number = format_decimal(to_decimal(amount), format="#,##0", locale=language)
    return f"{number}\xa0{currency_sign(currency, language)}"


def format_date_in(value: Any, language: str, style: str = "long") -> str:
    """An ISO date (or ``date``) as words: ``1 января 2026 г.`` / ``January 1, 2026``."""
    if value is None or value == "":
        return "—"
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return format_date(day, format=style, locale=language)


@pass_context
def money_filter(context: Context, value: Any, currency: str = "RUB") -> str:
    return format_money_in(value, _language(context), currency)


@pass_context
def number_filter(context: Context, value: Any) -> str:
    if value is None or value == "":
        return "—"
    return format_decimal(to_decimal(value), locale=_language(context))


@pass_context
def percent_filter(context: Context, value: Any) -> str:
    if value is None or value == "":
        return "—"
    number = format_decimal(to_decimal(value), locale=_language(context))
    return f"{number}\xa0%"


@pass_context
def date_filter(context: Context, value: Any, style: str = "long") -> str:
    if style not in ("short", "medium", "long"):
        style = "long"
    return format_date_in(value, _language(context), style)


@pass_context
def kind_label_filter(context: Context, value: Any) -> str:
    return KIND_LABELS[_language(context)].get(str(value), str(value))
