"""Typed values out of posted form text, shared by the views and the forms' readers."""

from __future__ import annotations

import re
from datetime import date

#: spaces of every kind (a page groups "30 000,50" with no-break spaces) and the rouble
#: written after an amount: "1 234,50 ₽", "1234 руб.", "1234 RUB"
_SPACES_AND_CURRENCY = re.compile(r"\s|₽|руб\.?|RUB", re.IGNORECASE)


def form_date(text: str | None) -> date | None:
    """An ISO date (``2026-03-01``) from a form field; ``None`` if empty or not a date."""
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def amount_text(text: str) -> str:
    """An amount as people type it and the pages print it, as plain decimal text:
    ``1 234,50 ₽`` → ``1234.50``. A lone decimal comma becomes a point; anything else
    is left for the caller's number reader to refuse (``1.000,50``, ``1,2,3``)."""
    plain = _SPACES_AND_CURRENCY.sub("", text)
    if plain.count(",") == 1 and "." not in plain:
        plain = plain.replace(",", ".")
    return plain
