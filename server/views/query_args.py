"""Reading numbers, dates and choices from a query string: the one place views do it.

A value that is present but unusable is refused with 400 and a reason in the user's
language, never dropped in silence and never passed on to crash a query: a page number
larger than any database integer (``page=99999999999999999999`` was an OverflowError),
a date whose next day does not exist (``to=9999-12-31``) or that a time zone pushes
before year 1 (``from=0001-01-01``). Absent or empty arguments give the default.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from flask import abort, request
from flask_babel import gettext as _

#: the largest integer every supported database stores (64-bit signed)
MAX_DB_INTEGER = 2**63 - 1
#: page numbers: far past any real list, and small enough to multiply by a page size
MAX_PAGE = 1_000_000
#: the dates a filter accepts; a day either side still exists in every time zone
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


def _query_arg(
    name: str, default: T | None, parse: Callable[[str], T | None], refusal: str
) -> T | None:
    """The argument as ``parse`` reads it; ``default`` when absent or empty; 400 with
    ``refusal`` as the reason when ``parse`` finds it unusable (None)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    value = parse(raw)
    if value is None:
        abort(400, description=refusal)
    return value


def int_arg(
    name: str, default: int | None = None, minimum: int = 0, maximum: int = MAX_DB_INTEGER
) -> int | None:
    """The argument as a whole number in [minimum, maximum], else 400."""

    def whole_number(raw: str) -> int | None:
        digits = raw[1:] if raw[:1] in "+-" else raw
        value = int(raw) if digits.isdigit() and len(digits) <= 20 else None
        return value if value is not None and minimum <= value <= maximum else None

    refusal = _(
        "The query argument “%(name)s” must be a whole number from %(minimum)s to %(maximum)s.",
        name=name,
        minimum=minimum,
        maximum=maximum,
    )
    return _query_arg(name, default, whole_number, refusal)


def page_arg(name: str = "page") -> int:
    """A zero-based page number (0 when absent), else 400."""
    return int_arg(name, 0, 0, MAX_PAGE) or 0


def date_arg(name: str, default: date | None = None) -> date | None:
    """The argument as a YYYY-MM-DD date between :data:`EARLIEST_DATE` and
    :data:`LATEST_DATE`, else 400."""

    def day(raw: str) -> date | None:
        try:
            value = date.fromisoformat(raw) if len(raw) == 10 else None
        except ValueError:
            return None
        return value if value is not None and EARLIEST_DATE <= value <= LATEST_DATE else None

    refusal = _(
        "The query argument “%(name)s” must be a date (YYYY-MM-DD) from %(earliest)s "
        "to %(latest)s.",
        name=name,
        earliest=EARLIEST_DATE.isoformat(),
        latest=LATEST_DATE.isoformat(),
    )
    return _query_arg(name, default, day, refusal)


def enum_arg(name: str, choices: type[E], default: E | None = None) -> E | None:
    """The argument as a member of ``choices`` (by value), else 400."""

    def choice(raw: str) -> E | None:
        try:
            return choices(raw)
        except ValueError:
            return None

    refusal = _(
        "The query argument “%(name)s” must be one of: %(choices)s.",
        name=name,
        choices=", ".join(str(member.value) for member in choices),
    )
    return _query_arg(name, default, choice, refusal)
