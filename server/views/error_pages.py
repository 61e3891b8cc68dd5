"""The pages a browser gets for 400, 403, 404, 405 and 429: in the user's language, in
the app's layout, saying what happened and where to go. API paths keep their JSON
answers. A 400 or 429 shows its reason (``abort(400, description=...)``)."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, jsonify, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, TooManyRequests

from server.security.csrf import CSRF_REFUSED
from server.security.login_throttle import LoginLocked

#: what each refusal means to the person who followed the link
_MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Access denied"), _l("Your login may not open this page.")),
    404: (_l("Not found"), _l("There is no such page or record: it may have been removed.")),
    405: (_l("Not allowed"), _l("This page does not accept this kind of request.")),
    429: (_l("Too many attempts"), _l("Wait a little and retry.")),
}
#: refusals whose own description says why (a bad query argument, a locked login)
_WITH_REASON = (400, 429)


def install_error_pages(app: Flask) -> None:
    """Answer browser requests refused with 400, 403, 404, 405 or 429 with :func:`_error_page`."""
    for status in _MESSAGES:
        app.register_error_handler(status, _error_page)
    app.register_error_handler(CSRFError, _csrf_refused)

    @app.after_request
    def _locked_login_answers_429(response: Response) -> Response:
        locked = g.get("login_locked")
        if locked is None:
            return response
        session.pop("_flashes", None)  # FAB's "invalid login" would be shown next
        return current_app.make_response(_login_locked(locked))


def _login_locked(
    error: LoginLocked,
) -> Response | HTTPException | tuple[str, int, list[tuple[str, str]]]:
    """429 with the wait: JSON for the REST login, the error page for the form."""
    minutes = max(1, -(-error.retry_after // 60))
    if error.scope == "account":
        reason = _(
            "Too many failed logins for this account. Try again in %(minutes)s min, or ask "
            "an administrator to unlock it.",
            minutes=minutes,
        )
    else:
        reason = _(
            "Too many failed logins from your network address. Try again in %(minutes)s "
            "min, or ask an administrator to unlock it.",
            minutes=minutes,
        )
    if request.path.startswith("/api/"):
        response = jsonify(message=reason)
        response.status_code = 429
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    refused = TooManyRequests(description=reason, retry_after=error.retry_after)
    return _error_page(refused)


def _csrf_refused(error: CSRFError) -> tuple[str, int, list[tuple[str, str]]] | HTTPException:
    """Flask-WTF's reasons ("The CSRF token is missing.") are English and technical."""
    error.description = str(CSRF_REFUSED)
    return _error_page(error)


def _error_page(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]] | HTTPException:
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return error
    status = error.code or 500
    title, message = _MESSAGES[status]
    if (
        status in _WITH_REASON
        and error.description
        and error.description != type(error).description
    ):
        message = error.description
    appbuilder = current_app.appbuilder  # type: ignore[attr-defined]
    page = render_template(
        "error.html",
        appbuilder=appbuilder,
        base_template=appbuilder.base_template,
        status=status,
        title=title,
        message=message,
    )
    # keep what the refusal says in headers (a 405's Allow, a 429's Retry-After)
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return page, status, headers
