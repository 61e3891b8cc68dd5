"""Request guards for Flask-AppBuilder's generic routes.

FAB looks a list action up by name without checking it exists
(``ModelView.get_action_permission_name``), so ``/<view>/action/<unknown>/<pk>`` or a
posted unknown action raised AttributeError — a 500 for anyone, even anonymous. These
guards answer 404 (unknown action in the URL) or 400 (unknown posted action) first.

Ids and FAB's list arguments are checked before a query sees them: an id in a path
larger than any database integer was an OverflowError (SQLite) or a DataError
(PostgreSQL); ``page_<View>=abc`` or ``psize_<View>=`` a ValueError in FAB's
``get_page_args``; a filter index FAB has no operation for an IndexError. Such a path
is not found (404); such an argument is refused with 400 and the reason.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, abort, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from server.views.query_args import MAX_DB_INTEGER, MAX_PAGE, int_arg

#: FAB's list arguments (``flask_appbuilder.urltools``): it matches them anywhere in a name
_FAB_PAGE = re.compile("page_(.*)")
_FAB_PAGE_SIZE = re.compile("psize_(.*)")
_FAB_FILTER = re.compile(r"_flt_(\d)_(.*)")
#: the most rows a FAB list shows on one page
MAX_PAGE_SIZE = 100


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:…>`` path arguments that fit a database integer; a longer one is no route."""

    regex = r"\d{1,19}"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_DB_INTEGER)
        super().__init__(*args, **kwargs)


def bound_path_integers(app: Flask) -> None:
    """Install :class:`DatabaseIntegerConverter` as ``int`` (before any route exists)."""
    app.url_map.converters["int"] = DatabaseIntegerConverter


def _is_database_id(value: str) -> bool:
    return value.isdigit() and len(value) <= 19 and int(value) <= MAX_DB_INTEGER


def install_view_guards(app: Flask) -> None:
    @app.before_request
    def _ids_that_fit_a_database() -> None:
        pk = (request.view_args or {}).get("pk")
        if isinstance(pk, str) and not _is_database_id(pk):
            abort(404)

    @app.before_request
    def _no_fab_file_downloads() -> None:
        # FAB's /<view>/download/<filename> serves its file columns from UPLOAD_FOLDER;
        # no view of ours has one, and the unset folder made every such URL a 500
        if (request.endpoint or "").endswith(".download"):
            abort(404)

    @app.before_request
    def _fab_list_arguments() -> None:
        for name in request.args:
            if _FAB_PAGE.search(name):
                int_arg(name, 0, 0, MAX_PAGE)
            elif _FAB_PAGE_SIZE.search(name):
                int_arg(name, None, 1, MAX_PAGE_SIZE)
            elif match := _FAB_FILTER.search(name):
                _check_filter(app, int(match.group(1)), match.group(2))

    @app.before_request
    def _known_actions_only() -> None:
        endpoint = request.endpoint or ""
        if not endpoint.endswith((".action", ".action_post")):
            return
        view = _view_of(app, endpoint.split(".")[0])
        actions = getattr(view, "actions", None)
        if actions is None:
            return
        if endpoint.endswith(".action"):
            if (request.view_args or {}).get("name") not in actions:
                abort(404)
        elif request.form.get("action") not in actions:
            abort(400, description="Unknown action.")


def _view_of(app: Flask, blueprint: str) -> Any:
    return next(
        (
            v
            for v in app.extensions["appbuilder"].baseviews
            if getattr(v, "blueprint", None) is not None and v.blueprint.name == blueprint
        ),
        None,
    )


def _check_filter(app: Flask, index: int, column: str) -> None:
    """FAB applies ``_flt_<index>_<column>`` as the index-th filter operation of a
    searchable column; it ignores an unsearchable column but fails on a missing index."""
    view = _view_of(app, (request.endpoint or "").split(".")[0])
    search = getattr(view, "_filters", None)
    if search is None:
        return
    operations = search.get_search_filters().get(column)
    if operations is not None and index >= len(operations):
        abort(
            400,
            description=_(
                "The list filter “%(column)s” has no operation number %(index)s.",
                column=column,
                index=index,
            ),
        )


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
