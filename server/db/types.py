"""Column types that keep money exact and times in UTC on SQLite and PostgreSQL alike.

SQLAlchemy's ``Numeric`` goes through ``float`` on SQLite (measured: 20 significant
digits came back wrong), so :class:`Money` stores integer kopecks there and
``NUMERIC(20, 2)`` on PostgreSQL. Python code always sees :class:`decimal.Decimal`.

No money column can hold a float: :class:`Money` refuses to bind anything but a finite
amount below :data:`MONEY_LIMIT` (a larger kopeck count would reach SQLite as a REAL),
and the database refuses it too (migration ``…_sec_intake_money_is_exact``: on SQLite
a CHECK constraint on accruals and triggers elsewhere that allow only INTEGER values in
range, CHECK constraints on PostgreSQL).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")
#: Amounts a :class:`Money` column keeps exactly on both databases stay below this:
#: SQLite holds kopecks in a signed 64-bit integer (up to ~9.2 · 10^16 roubles),
#: PostgreSQL ``NUMERIC(20, 2)`` up to 10^18. Forms refuse larger amounts with a reason.
MONEY_LIMIT = Decimal(10) ** 16


def to_money(value: Decimal | int | str) -> Decimal:
    """Quantize a value to kopecks with ROUND_HALF_UP (the spec's rounding)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class MoneyOutOfRange(ValueError):
    """An amount a :class:`Money` column cannot keep exactly (or not a number at all)."""


def storable_money(value: Decimal | int | str) -> Decimal:
    """``value`` in kopecks, if a :class:`Money` column keeps it exactly.

    Raises:
        MoneyOutOfRange: not a finite number, a ``float`` (its decimal text is lost), or
            not below :data:`MONEY_LIMIT` in size.
    """
    if isinstance(value, float | bool):
        raise MoneyOutOfRange(f"money must be Decimal, int or text, not {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite() or abs(number) >= MONEY_LIMIT:
        raise MoneyOutOfRange(f"{number} is not an amount below {MONEY_LIMIT:,}")
    amount = to_money(number)
    if abs(amount) >= MONEY_LIMIT:  # 9999999999999999.995 rounds up to the limit
        raise MoneyOutOfRange(f"{number} is not an amount below {MONEY_LIMIT:,}")
    return amount


class Money(TypeDecorator[Decimal]):
    """A rouble amount with two decimals, exact on every backend."""

    impl = sa.Numeric(20, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(20, 2, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = storable_money(value)
        if dialect.name == "sqlite":
            return int(amount * 100)
        return amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            # SUM() over an INTEGER column stays an integer; AVG() would not, so
            # go through the decimal text rather than float arithmetic.
            return (Decimal(str(value)) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        return to_money(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant stored in UTC; naive values are refused."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def str_enum(enum_class: type[enum.Enum], length: int = 32) -> sa.Enum:
    """A column type storing a ``str, Enum`` as its value, as VARCHAR.

    Model enums name their members exactly as their values (``active = "active"``):
    Flask-AppBuilder's form fields look members up by the stored string.
    """
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal of any scale stored as its text (evaluation state: sums of raw amounts
    must come back exactly as the engine computed them, not rounded to kopecks)."""

    impl = sa.String(64)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if isinstance(value, float):  # its decimal text is lost already
            raise MoneyOutOfRange("exact decimals must be Decimal, int or text, not float")
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
