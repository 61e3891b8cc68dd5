"""The pages a browser gets for 403, 404 and 405: in the user's language, in the app's
layout, saying what happened and where to go. API paths keep their JSON answers."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

#: what each refusal means to the person who followed the link
_MESSAGES = {
    403: (_l("Access denied"), _l("Your login may not open this page.")),
    404: (_l("Not found"), _l("There is no such page or record: it may have been removed.")),
    405: (_l("Not allowed"), _l("This page does not accept this kind of request.")),
}


def install_error_pages(app: Flask) -> None:
    """Answer browser requests refused with 403, 404 or 405 with :func:`_error_page`."""
    for status in _MESSAGES:
        app.register_error_handler(status, _error_page)


def _error_page(error: HTTPException) -> tuple[str, int] | HTTPException:
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return error
    status = error.code or 500
    title, message = _MESSAGES[status]
    appbuilder = current_app.appbuilder  # type: ignore[attr-defined]
    page = render_template(
        "error.html",
        appbuilder=appbuilder,
        base_template=appbuilder.base_template,
        status=status,
        title=title,
        message=message,
    )
    return page, status
