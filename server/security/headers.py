"""Security headers on every response, and a per-request CSP nonce for scripts.

Flask-AppBuilder's templates already mark their scripts ``nonce="{{ csp_nonce() }}"``
when a ``csp_nonce`` function exists, and ours load scripts from files only, so the
policy forbids inline script except with this request's nonce. Inline *styles* are
allowed: FAB's widgets use style attributes. Pages may be framed only by our own pages
(the contract editor previews a template in an iframe).
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

POLICY = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; "
    "object-src 'none'; "
    "base-uri 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'self'"
)


def csp_nonce() -> str:
    """This request's nonce (templates call it in ``<script nonce=…>``)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return str(nonce)


def install_security_headers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", POLICY.format(nonce=csp_nonce()))
        return response
