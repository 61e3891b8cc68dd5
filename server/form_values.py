"""Typed values out of posted form text, shared by the views and the forms' readers."""

from __future__ import annotations

from datetime import date


def form_date(text: str | None) -> date | None:
    """An ISO date (``2026-03-01``) from a form field; ``None`` if empty or not a date."""
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None
