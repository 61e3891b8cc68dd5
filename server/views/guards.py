"""Request guards for Flask-AppBuilder's generic routes.

FAB looks a list action up by name without checking it exists
(``ModelView.get_action_permission_name``), so ``/<view>/action/<unknown>/<pk>`` or a
posted unknown action raised AttributeError — a 500 for anyone, even anonymous. These
guards answer 404 (unknown action in the URL) or 400 (unknown posted action) first.
"""

from __future__ import annotations

from flask import Flask, abort, request


def install_view_guards(app: Flask) -> None:
    @app.before_request
    def _known_actions_only() -> None:
        endpoint = request.endpoint or ""
        if not endpoint.endswith((".action", ".action_post")):
            return
        blueprint = endpoint.split(".")[0]
        view = next(
            (
                v
                for v in app.extensions["appbuilder"].baseviews
                if getattr(v, "blueprint", None) is not None and v.blueprint.name == blueprint
            ),
            None,
        )
        actions = getattr(view, "actions", None)
        if actions is None:
            return
        if endpoint.endswith(".action"):
            if (request.view_args or {}).get("name") not in actions:
                abort(404)
        elif request.form.get("action") not in actions:
            abort(400, description="Unknown action.")
