"""Cross-site request forgery: every state change needs POST plus this session's token.

One check for the whole app: Flask-WTF's ``CSRFProtect`` refuses a POST (PUT, PATCH,
DELETE) without a valid token in the ``csrf_token`` form field or the ``X-CSRFToken``
header, before any view runs: our hand-written forms, Flask-AppBuilder's generic
add/edit/delete/action routes and its security screens alike.

Exempt are Flask-AppBuilder's REST APIs, which it marks ``csrf_exempt`` as it registers
them: ``POST /api/v1/events`` authenticates by its API key header, the JWT login and
refresh by credentials or a token in the body; none of them acts on a session cookie,
so a forged cross-site request carries nothing they accept
(tests/integration/app/test_csrf.py).

Flask-AppBuilder also routes ``GET /<view>/delete/<pk>`` and ``GET /<view>/action/…``
to the same code as POST. With the check installed it refuses them itself (a redirect
with "access denied"); :func:`install_csrf_protection` answers 405 first, so a link
from another site can never delete a user, role or group.
"""

from __future__ import annotations

from flask import Flask, abort, request
from flask_babel import lazy_gettext as _l

from server.extensions import csrf

#: Flask-AppBuilder's routes that accept GET but change data when they run
_GET_MUTATIONS = (".delete", ".action")

#: what a refused form means to the person who sent it
CSRF_REFUSED = _l("The form expired or was not sent from this site; reload the page and retry.")


def register_csrf_extension(app: Flask) -> None:
    """Make the check known before Flask-AppBuilder registers its views and APIs (it
    exempts its REST APIs only if the extension exists then); it runs from
    :func:`install_csrf_protection`."""
    csrf.init_app(app)
    # Flask-WTF's own hook would run before Flask-AppBuilder has loaded the user, and
    # the refusal page (in the app's layout, with its menu) needs the user
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False


def install_csrf_protection(app: Flask) -> None:
    """Check the token of every state-changing request and refuse GET deletes (after
    Flask-AppBuilder's own request hooks)."""

    @app.before_request
    def _no_mutation_by_get() -> None:
        endpoint = request.endpoint or ""
        if request.method in ("GET", "HEAD") and endpoint.endswith(_GET_MUTATIONS):
            abort(405, valid_methods=["POST"])

    @app.before_request
    def _csrf_token_required() -> None:
        if app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect(apply_exemptions=True)
