"""Regional terms are versioned and dated: a new version never edits an old one, and the
version in force on a date is the highest one whose dates cover it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask import Flask

from server.errors import CommandError
from server.extensions import db
from server.partners.models import RegionalTerms
from server.partners.terms import TermsDraft, add_terms_version, terms_in_force_for_code
from tests.integration.documents.conftest import World


def draft(start: date, days: int = 45, end: date | None = None, **more: object) -> TermsDraft:
    return TermsDraft(
        effective_from=start,
        effective_to=end,
        payment_terms_days=days,
        minimum_payout=Decimal("999999999.99"),
        governing_law="Российская Федерация",
        **more,  # type: ignore[arg-type]
    )


def test_new_versions_leave_old_ones_and_the_date_picks_the_version(
    docs_app: Flask, world: World
) -> None:
    first = terms_in_force_for_code("A", date(2026, 6, 1))
    assert first is not None and first.version == 1
    snapshot = (first.id, first.payment_terms_days, first.effective_to)
    second = add_terms_version("A", draft(date(2026, 12, 1)))
    add_terms_version("A", draft(date(2027, 1, 1), days=60, end=date(2027, 1, 31)))
    assert second.version == 2

    def version_on(day: date) -> int | None:
        terms = terms_in_force_for_code("A", day)
        return terms.version if terms else None

    assert version_on(date(2025, 12, 31)) is None
    assert version_on(date(2026, 11, 30)) == 1
    assert version_on(date(2026, 12, 1)) == 2
    assert version_on(date(2027, 1, 15)) == 3
    assert version_on(date(2027, 2, 1)) == 2  # v3 ended; v2 is open-ended
    db.session.expire_all()
    old = db.session.get(RegionalTerms, snapshot[0])
    assert old is not None and (old.id, old.payment_terms_days, old.effective_to) == snapshot
    assert second.minimum_payout == Decimal("999999999.99")  # exact on both databases


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (draft(date(2027, 1, 1), days=0), "payment terms"),
        (draft(date(2027, 1, 1), end=date(2026, 1, 1)), "end before"),
        (draft(date(2027, 1, 1), contract_language="de"), "language"),
        (draft(date(2027, 1, 1), program_version_id=999999), "program version"),
    ],
)
def test_invalid_terms_are_refused(
    docs_app: Flask, world: World, bad: TermsDraft, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        add_terms_version("A", bad)
    with pytest.raises(CommandError, match="Неизвестный регион Z"):
        add_terms_version("Z", draft(date(2027, 1, 1)))
