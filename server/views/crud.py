"""Flask-AppBuilder's record forms, with flashes that name the record.

FAB flashes "Added Row" / "Changed Row" / "Deleted Row" after its add, edit and delete
forms (in Russian «Добавлено строк», which reads as a count of nothing). Views that mix
in :class:`NamedRowMessages` say what was saved instead: «Добавлено: P-001 · Ромашка».
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask_babel import LazyString
from flask_babel import gettext as _
from markupsafe import escape

#: the record the current request added, changed or is deleting, as its users name it
_SAVED = "pf_saved_record"


# FAB flashes these lazy strings, which count as HTML (``__html__``) once flashed: the
# record's name is escaped here, as it may hold anything a user typed.
def _added() -> str:
    name = g.get(_SAVED)
    return _("Added: %(name)s", name=escape(name)) if name else _("Added")


def _changed() -> str:
    name = g.get(_SAVED)
    return _("Saved: %(name)s", name=escape(name)) if name else _("Saved")


def _deleted() -> str:
    name = g.get(_SAVED)
    return _("Deleted: %(name)s", name=escape(name)) if name else _("Deleted")


class NamedRowMessages:
    """Mix in before ``ModelView``: its add/edit/delete flashes name the record."""

    add_row_message = LazyString(_added)
    edit_row_message = LazyString(_changed)
    delete_row_message = LazyString(_deleted)

    def post_add(self, item: Any) -> None:
        g.setdefault(_SAVED, str(item))
        super().post_add(item)  # type: ignore[misc]

    def post_update(self, item: Any) -> None:
        g.setdefault(_SAVED, str(item))
        super().post_update(item)  # type: ignore[misc]

    def pre_delete(self, item: Any) -> None:
        # named before it is gone
        g.setdefault(_SAVED, str(item))
        super().pre_delete(item)  # type: ignore[misc]
