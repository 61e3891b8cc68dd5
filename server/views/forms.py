"""Helpers for hand-written forms in views: CSRF like Flask-WTF's own forms."""

from __future__ import annotations

from flask import abort, current_app, request
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf


def csrf_token() -> str:
    """A token for a hidden ``csrf_token`` field."""
    return str(generate_csrf())


def require_csrf() -> None:
    """Abort with 400 unless the posted form carries a valid CSRF token."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(request.form.get("csrf_token", ""))
    except (CSRFError, Exception):  # flask_wtf raises ValidationError subclasses
        abort(400, description="The form expired or was not sent from this site; reload and retry.")
