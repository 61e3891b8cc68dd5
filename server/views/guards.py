"""Request guards for Flask-AppBuilder's generic routes.

FAB's generic add/edit/delete/action routes change data on POST without checking a
CSRF token when no global CSRFProtect is installed (found by tests/…/test_csrf.py: a
user could be deleted by a forged POST); the first guard requires the token there.

FAB looks a list action up by name without checking it exists
(``ModelView.get_action_permission_name``), so ``/<view>/action/<unknown>/<pk>`` or a
posted unknown action raised AttributeError — a 500 for anyone, even anonymous. These
guards answer 404 (unknown action in the URL) or 400 (unknown posted action) first.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request

from server.views.forms import require_csrf

#: FAB's generic mutating routes; they change data on POST without checking CSRF
#: themselves (FAB installs no global CSRFProtect)
MUTATING = (".add", ".edit", ".delete", ".action", ".action_post")


def install_view_guards(app: Flask) -> None:
    @app.before_request
    def _csrf_on_generic_mutations() -> None:
        endpoint = request.endpoint or ""
        if request.method == "POST" and endpoint.endswith(MUTATING):
            require_csrf()

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


def fix_enum_field_validation() -> None:
    """Make FAB's EnumField report a bad choice as a form error, not a crash, and name
    its options in the user's language.

    FAB's EnumField failed on a missing or unknown value twice over: its coerce looks
    the value up with ``enum_class.__members__[value]`` (KeyError, which WTForms does
    not catch: a tampered ``kind=nonsense`` was a 500), and its ``pre_validate`` raises
    a bare ValueError (WTForms expects ValidationError). Coerce now raises ValueError,
    which WTForms reports on the field, and pre_validate a ValidationError; the options
    read as :data:`server.labels.VALUE_LABELS` words instead of stored values. Applies
    once per process, to every enum column of every form.
    """
    from flask_appbuilder.fields import EnumField
    from wtforms.validators import ValidationError

    from server.labels import VALUE_LABELS

    if getattr(EnumField, "_partnerflow_fixed", False):
        return
    original_init = EnumField.__init__

    def __init__(self: EnumField, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        lookup = self.coerce

        def coerce(value: Any) -> Any:
            try:
                return lookup(value)
            except KeyError:
                raise ValueError(f"{value!r} is not one of the choices") from None

        self.coerce = coerce
        self.choices = [
            (value, VALUE_LABELS.get(str(value), label)) for value, label in self.choices
        ]

    def pre_validate(self: EnumField, form: object) -> None:
        # a posted value that is no choice keeps the field's default as its data
        posted = self.raw_data[0] if self.raw_data else None
        if posted and posted not in {str(value) for value, _label in self.choices}:
            raise ValidationError(self.gettext("Not a valid choice"))
        for value, _label in self.choices:
            if self.data == self.coerce(value):
                return
        raise ValidationError(self.gettext("Not a valid choice"))

    EnumField.__init__ = __init__
    EnumField.pre_validate = pre_validate
    EnumField._partnerflow_fixed = True


def fix_blank_choice_text() -> None:
    """Name the empty choice of FAB's optional relation pickers with a dash.

    FAB's QuerySelectField offers "no value" as an option with an empty text, and the
    select2 widget then shows its internal value instead: a partner form's "Recruited
    by" read ``__None``. Applies once per process, to every optional picker.
    """
    from flask_appbuilder.fields import QuerySelectField

    from server.labels import EMPTY

    if getattr(QuerySelectField, "_partnerflow_fixed", False):
        return
    original_init = QuerySelectField.__init__

    def __init__(self: QuerySelectField, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank_text", EMPTY)
        original_init(self, *args, **kwargs)

    QuerySelectField.__init__ = __init__
    QuerySelectField._partnerflow_fixed = True
