"""Regional terms refuse a minimum payout a money column cannot keep (not a 500)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from server.partners.terms import TermsDraft, _problems


def _draft(minimum: str) -> TermsDraft:
    return TermsDraft(
        effective_from=date(2027, 1, 1),
        payment_terms_days=30,
        minimum_payout=Decimal(minimum),
        governing_law="RU",
    )


@pytest.mark.parametrize(
    ("minimum", "problem"),
    [
        ("10000000000000000", "must be below 10,000,000,000,000,000"),
        ("9999999999999999.995", "must be below 10,000,000,000,000,000"),
        ("NaN", "must be a number"),
        ("-1", "cannot be negative"),
    ],
)
def test_minimum_payouts_beyond_money_are_problems(minimum: str, problem: str) -> None:
    assert any(problem in text for text in _problems(_draft(minimum)))


def test_the_largest_minimum_payout_is_fine() -> None:
    assert _problems(_draft("9999999999999999.99")) == []
