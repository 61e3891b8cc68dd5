"""The minimum payout of the regional terms: an amount due below it is carried over to
the next close (left in the balance, left out of the CSV, refused by mark_paid) and paid
once, by the close at which it reaches the minimum."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from server.errors import CommandError
from server.extensions import db
from server.ledger.models import Accrual, AccrualKind
from server.partners.models import Partner
from server.partners.terms import TermsDraft, add_terms_version
from server.security.roles import Role
from server.statements.commands import close_period
from server.statements.payouts import mark_paid, payout_plan, payouts_csv, payouts_due
from tests.support.factories import accrual, partner, sale
from tests.support.web import login

MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
APRIL = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)
APRIL_2 = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
MAY_2 = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)
MINIMUM = Decimal("1000.00")


def _terms(region_code: str, minimum: Decimal) -> None:
    add_terms_version(
        region_code,
        TermsDraft(
            effective_from=date(2026, 1, 1),
            payment_terms_days=15,
            minimum_payout=minimum,
            governing_law="Российская Федерация",
        ),
    )


def _earn(owner: Partner, amount: str, at: datetime) -> None:
    accrual(sale(f"S-{owner.code}-{at:%m%d}-{amount}", owner, at), owner, amount, at)


def _march() -> tuple[int, dict[str, Partner]]:
    """Region A pays from 1,000.00; region B has no terms (no minimum)."""
    partners = {
        "below": partner("P-BELOW"),
        "equal": partner("P-EQUAL"),
        "above": partner("P-ABOVE"),
        "small": partner("P-SMALL"),
        "no-terms": partner("P-FREE", "B"),
    }
    _earn(partners["below"], "999.99", MARCH)
    _earn(partners["equal"], "1000.00", MARCH)
    _earn(partners["above"], "1500.50", MARCH)
    _earn(partners["small"], "300.00", MARCH)
    _earn(partners["no-terms"], "0.01", MARCH)
    db.session.commit()
    _terms("A", MINIMUM)
    return close_period(date(2026, 3, 1), date(2026, 3, 31), now=APRIL_2), partners


def _payouts(owner: Partner) -> list[Decimal]:
    return list(
        db.session.scalars(
            sa.select(Accrual.amount)
            .where(Accrual.partner_id == owner.id, Accrual.kind == AccrualKind.payout)
            .order_by(Accrual.id)
        )
    )


def test_below_the_minimum_is_carried_over_equal_and_above_are_due(app: Flask) -> None:
    with app.app_context():
        close_id, _partners = _march()
        plan = payout_plan(close_id)
        assert [(d.partner_code, d.amount) for d in plan.due] == [
            ("P-ABOVE", Decimal("1500.50")),
            ("P-EQUAL", Decimal("1000.00")),
            ("P-FREE", Decimal("0.01")),
        ]
        assert [(c.partner_code, c.amount, c.minimum_payout) for c in plan.carried] == [
            ("P-BELOW", Decimal("999.99"), MINIMUM),
            ("P-SMALL", Decimal("300.00"), MINIMUM),
        ]
        assert payouts_due(close_id) == plan.due
        rows = list(csv.DictReader(io.StringIO(payouts_csv(close_id).decode("utf-8-sig"))))
        assert [(row["partner_code"], row["amount"]) for row in rows] == [
            ("P-ABOVE", "1500.50"),
            ("P-EQUAL", "1000.00"),
            ("P-FREE", "0.01"),
        ]


def test_mark_paid_refuses_a_carried_partner_and_pays_only_the_due(app: Flask) -> None:
    with app.app_context():
        close_id, partners = _march()
        below, equal = partners["below"], partners["equal"]
        with pytest.raises(CommandError, match="P-BELOW") as refused:
            mark_paid(close_id, [equal.id, below.id])
        assert "меньше минимальной суммы выплаты" in str(refused.value)  # Russian by default
        assert _payouts(equal) == []  # nothing written, not even flushed, when one is refused
        db.session.rollback()
        assert _payouts(equal) == []
        assert len(mark_paid(close_id)) == 3  # all due: the carried partners are left
        assert _payouts(below) == [] and _payouts(partners["small"]) == []
        assert _payouts(equal) == [Decimal("-1000.00")]
        assert mark_paid(close_id) == []  # never twice


def test_a_carried_balance_is_paid_once_by_the_close_where_it_reaches_the_minimum(
    app: Flask,
) -> None:
    with app.app_context():
        march_id, partners = _march()
        below, small, above = partners["below"], partners["small"], partners["above"]
        mark_paid(march_id)
        _earn(below, "0.01", APRIL)  # 999.99 carried + 0.01 = the minimum
        _earn(small, "600.00", APRIL)  # 300.00 carried + 600.00: still below
        _earn(above, "10.00", APRIL)  # paid in March; 10.00 alone is below
        db.session.commit()
        april_id = close_period(date(2026, 4, 1), date(2026, 4, 30), now=MAY_2)
        plan = payout_plan(april_id)
        assert [(d.partner_code, d.amount) for d in plan.due] == [("P-BELOW", Decimal("1000.00"))]
        assert [(c.partner_code, c.amount) for c in plan.carried] == [
            ("P-ABOVE", Decimal("10.00")),
            ("P-SMALL", Decimal("900.00")),
        ]
        assert len(mark_paid(april_id, [below.id])) == 1
        assert _payouts(below) == [Decimal("-1000.00")]
        # the March close no longer owes what April paid: nothing pays twice
        assert [d.partner_code for d in payout_plan(march_id).due] == []
        assert [c.partner_code for c in payout_plan(march_id).carried] == ["P-SMALL"]
        assert mark_paid(march_id, [below.id]) == []
        assert mark_paid(april_id) == []
        assert _payouts(below) == [Decimal("-1000.00")]
        balance = db.session.scalar(
            sa.select(sa.func.sum(Accrual.amount)).where(Accrual.partner_id == below.id)
        )
        assert balance == Decimal("0.00")


def test_the_payouts_screen_shows_carried_partners_with_the_reason(app: Flask) -> None:
    with app.app_context():
        close_id, partners = _march()
        below_id = partners["below"].id
    client = login(app, Role.MANAGER)
    page = client.get(f"/statements/{close_id}").get_data(as_text=True)
    payable = page.split('id="payouts"')[1].split("</table>")[0]
    assert "P-EQUAL" in payable and "P-BELOW" not in payable
    carried = page.split('id="payouts-carried"')[1].split("</table>")[0]
    assert "P-BELOW" in carried and "P-SMALL" in carried and "P-EQUAL" not in carried
    assert re.search(r"меньше минимальной суммы выплаты 1\s?000,00\s₽", carried)
    response = client.post(
        f"/statements/{close_id}/paid", data={"partner": [str(below_id)]}, follow_redirects=True
    )
    assert "меньше минимальной суммы выплаты" in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Accrual.id)).where(Accrual.kind == AccrualKind.payout)
            )
            == 0
        )
