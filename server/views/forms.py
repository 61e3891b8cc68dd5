"""Helpers for hand-written forms and actions in views: the CSRF token, the acting user,
and running one command with its outcome flashed.

The token is *checked* in one place only: Flask-WTF's ``CSRFProtect``, installed by
:func:`server.security.csrf.install_csrf_protection`, refuses every POST without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash, redirect
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from server.errors import CommandError
from server.i18n import current_language
from server.rules.program import ProgramError

T = TypeVar("T")


def csrf_token() -> str:
    """A token for a hidden ``csrf_token`` field (or the ``X-CSRFToken`` header)."""
    return str(generate_csrf())


def actor_id() -> int | None:
    """The logged-in user's id, for audit entries and ``created_by`` columns."""
    return int(current_user.id) if current_user.is_authenticated else None


def run_command(
    run: Callable[[], T],
    done: str,
    back: str,
    then: Callable[[T], str] | None = None,
) -> ResponseReturnValue:
    """Run one command (it commits), flash ``done`` or its refusal in the user's
    language, and redirect: to ``then(result)`` after success when given, else to
    ``back``. A refused program lists each of its issues."""
    try:
        result = run()
    except ProgramError as error:
        for issue in error.issues:
            flash(issue.text(current_language()), "danger")
        return redirect(back)
    except CommandError as error:
        flash(str(error), "danger")
        return redirect(back)
    flash(done, "success")
    return redirect(then(result) if then is not None else back)
