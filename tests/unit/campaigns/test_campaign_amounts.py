"""Reading the money and rate fields of the campaign forms."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server.campaigns.commands import parse_amount
from server.errors import CommandError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,5", Decimal("12.5")),
        ("1 000", Decimal("1000")),
        (" 7 ", Decimal("7")),
        ("", None),
        ("30\u202f000,50 ₽", Decimal("30000.50")),  # copied from the campaign's own page
    ],
)
def test_amounts_are_read_with_a_decimal_comma_and_spaces(
    text: str, expected: Decimal | None
) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["NaN", "nan", "Infinity", "-inf", "1e999", "abc", "1,2,3"])
def test_what_is_not_a_finite_amount_is_a_field_error(text: str) -> None:
    # NaN used to pass as a Decimal and fail in a comparison: a 500, not a message
    with pytest.raises(CommandError):
        parse_amount(text)


@pytest.mark.parametrize("budget", ["10000000000000000", "9999999999999999.995"])
def test_a_budget_a_money_column_cannot_keep_is_a_field_error(budget: str) -> None:
    from server.campaigns.commands import _budget_issue

    # the second rounds up to 10^16 kopeck-wise: the column refused it with a 500
    assert _budget_issue(Decimal(budget)) is not None
    assert _budget_issue(Decimal("9999999999999999.99")) is None
