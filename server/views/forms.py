"""Helpers for hand-written forms and actions in views: CSRF and the acting user."""

from __future__ import annotations

from flask import Flask, abort, current_app, request
from flask_login import current_user
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


def expose_csrf_token_to_templates(app: Flask) -> None:
    """Let every template call ``csrf_token()``, as Flask-WTF's CSRFProtect would.

    FAB's list-action and delete forms (``appbuilder/general/lib.html``) are macros
    imported without context: they add the token only if ``csrf_token`` is a Jinja
    global. Without it our bulk actions could not pass :func:`require_csrf`.
    """
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)


def actor_id() -> int | None:
    """The logged-in user's id, for audit entries and ``created_by`` columns."""
    return int(current_user.id) if current_user.is_authenticated else None
