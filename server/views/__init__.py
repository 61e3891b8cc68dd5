"""Admin views: thin classes over the areas' models and queries.

The ledger (events and accruals) is shown read-only here: accruals are append-only and
only commands add rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import current_app
from flask_appbuilder import AppBuilder, ModelView
from flask_babel import lazy_gettext as _l

import server.models  # noqa: F401  (every mapped class, before a view's SQLAInterface maps one)
from server.labels import shown_value, value_label
from server.views.codes import public_codes
from server.views.dashboard import IndexView
from server.views.menu import MAIN_MENU, add_menu
from server.views.programs import RuleInstanceView

__all__ = ["IndexView", "register_views"]


def register_views(builder: AppBuilder) -> None:
    """Add every view and menu entry; the menu shows only screens that exist."""
    from server.api.events import EventsApi

    builder.add_api(EventsApi)
    add_menu(builder, MAIN_MENU)
    builder.add_view_no_menu(RuleInstanceView)
    if "public_codes" not in current_app.blueprints:
        current_app.register_blueprint(public_codes)  # the public /r and /q routes
    _titles_from_menu_labels(builder)
    _readable_cells(builder)


#: Flask-AppBuilder's own titles ("List Partner", "Show Accrual"): English, built from
#: the model's class name; replaced below where a view keeps them
_DEFAULT_TITLE_PREFIXES = {
    "list_title": "List ",
    "show_title": "Show ",
    "add_title": "Add ",
    "edit_title": "Edit ",
}


def _titles_from_menu_labels(builder: AppBuilder) -> None:
    """Title every model page by its menu entry's translated label ("Партнёры",
    "Партнёры: запись") instead of FAB's English default, unless the view sets its own."""
    titles: dict[str, Callable[[Any], Any]] = {
        "list_title": lambda label: label,
        "show_title": lambda label: _l("%(what)s: record", what=label),
        "add_title": lambda label: _l("%(what)s: new record", what=label),
        "edit_title": lambda label: _l("%(what)s: editing", what=label),
    }
    for item in _menu_items(builder.menu.get_list()):
        view = item.baseview
        if not isinstance(view, ModelView) or not item.label:
            continue
        for attribute, prefix in _DEFAULT_TITLE_PREFIXES.items():
            current = getattr(view, attribute)
            if isinstance(current, str) and current.startswith(prefix):
                setattr(view, attribute, titles[attribute](item.label))
        view.title = view.list_title


def _menu_items(items: list[Any]) -> Iterator[Any]:
    for item in items:
        yield item
        yield from _menu_items(item.childs)


#: whose model views get readable cells: ours and Flask-AppBuilder's security screens
_READABLE_MODULES = ("server.", "flask_appbuilder.security.")


def _readable_cells(builder: AppBuilder) -> None:
    """Cells of our list and record pages, and of Flask-AppBuilder's user and role
    screens, that it would show raw: enum values as words in the user's language,
    empty ones as a dash, instants to the minute, yes/no as words ("True" before). A
    view's own formatters win."""
    for view in builder.baseviews:
        module = type(view).__module__
        if not isinstance(view, ModelView) or not module.startswith(_READABLE_MODULES):
            continue
        formatters = dict(view.formatters_columns)  # the class's dict is shared
        for column in {*view.list_columns, *view.show_columns}:
            if column in formatters:
                continue
            is_enum = "." not in column and view.datamodel.is_enum(column)
            formatters[column] = value_label if is_enum else shown_value
        view.formatters_columns = formatters
