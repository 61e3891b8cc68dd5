"""Decimal helpers: parsing decimal text, exact arithmetic and rounding to cents.

Money never passes through ``float``: amounts arrive as text (or as ``Decimal`` from
``json.loads(parse_float=Decimal)`` and the YAML loader) and stay ``Decimal``.
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation

from babel.numbers import get_currency_symbol

#: Exact enough for any product of two amounts the engine sees: inputs are bounded by
#: :data:`MAX_ADJUSTED_EXPONENT`, so 80 significant digits never round a product.
ARITHMETIC = Context(prec=80, rounding=ROUND_HALF_UP)

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
THOUSAND = Decimal(1000)

#: Amounts above 10**24 are not money; refusing them keeps every product exact.
MAX_ADJUSTED_EXPONENT = 24
#: Fractions finer than 10**-24 are not money either.
MIN_EXPONENT = -24

_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_decimal(value: object) -> Decimal | None:
    """Read ``value`` (decimal text, ``int`` or ``Decimal``) as a finite ``Decimal``.

    Returns ``None`` for anything else: ``float`` (its text is already lost), booleans,
    ``"NaN"``, ``"Infinity"``, ``"1_000"``, text with spaces, and magnitudes outside
    the bounds above.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        try:
            number = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return None
    else:
        return None
    if not number.is_finite():
        return None
    if number and (
        number.adjusted() > MAX_ADJUSTED_EXPONENT or number.as_tuple().exponent < MIN_EXPONENT  # type: ignore[operator]
    ):
        return None
    return number


def round_cents(value: Decimal) -> Decimal:
    """Round to 0.01 with ROUND_HALF_UP; ``-0.00`` becomes ``0.00``."""
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP, context=ARITHMETIC)
    return rounded if rounded else CENT * 0


def floor_int(value: Decimal) -> int:
    """The largest integer not above ``value``."""
    return int(value.to_integral_value(rounding=ROUND_FLOOR, context=ARITHMETIC))


def mul(a: Decimal, b: Decimal) -> Decimal:
    """Exact product (see :data:`ARITHMETIC`)."""
    return ARITHMETIC.multiply(a, b)


def div(a: Decimal, b: Decimal) -> Decimal:
    """Quotient to 80 significant digits: exact whenever the quotient terminates."""
    return ARITHMETIC.divide(a, b)


def format_amount(value: Decimal) -> str:
    """Text of a money amount with exactly two decimals, never ``-0.00``."""
    return f"{round_cents(value):f}"


#: narrow signs written after the number in every language (Babel's English has "RUB")
NARROW_SIGNS = {"RUB": "₽"}


def currency_sign(currency: str, language: str) -> str:
    """How money of ``currency`` is signed in ``language``: ``RUB`` → ``₽`` everywhere,
    other codes as Babel writes them (``$``, ``€``), a sign or an unknown code as it is."""
    return NARROW_SIGNS.get(currency) or get_currency_symbol(currency, locale=language)
