"""REST API for integrations (Flask-AppBuilder APIs, documented in OpenAPI)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import InternalServerError

#: where the JSON API lives: its clients parse every answer, failures included
API_PREFIX = "/api/"


def install_api_errors(app: Flask) -> None:
    """Answer an unexpected failure under ``/api/`` as the documented JSON refusal.

    The exception is logged by Flask first; the client gets ``{"error": ...}`` with 500,
    not an HTML page it cannot parse. Other paths keep Flask's own answer.
    """
    app.register_error_handler(InternalServerError, _api_internal_error)


def _api_internal_error(error: InternalServerError) -> Response | InternalServerError:
    if not request.path.startswith(API_PREFIX):
        return error
    response = jsonify({"error": "internal error: the request was not completed; retry later"})
    response.status_code = 500
    return response
