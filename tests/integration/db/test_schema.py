"""The migrations and the models agree, and money is exact, on both databases."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.ledger.models import Accrual, AccrualKind, AccrualStatus
from server.partners.models import Partner, PartnerKind
from tests.support import factories
from tests.support.schema import schema_differences


def test_autogenerate_finds_nothing_to_change(app_ctx: Flask) -> None:
    assert schema_differences() == []


def _partner() -> Partner:
    return factories.partner(kind=PartnerKind.ambassador)


def test_largest_money_amount_round_trips_exactly(app_ctx: Flask) -> None:
    partner = _partner()
    amount = Decimal("999999999999.99")
    db.session.add(
        Accrual(
            dedupe_key="k1",
            partner_id=partner.id,
            kind=AccrualKind.commission,
            amount=amount,
            status=AccrualStatus.approved,
        )
    )
    db.session.add(
        Accrual(
            dedupe_key="k2",
            partner_id=partner.id,
            kind=AccrualKind.commission,
            amount=-amount,
            status=AccrualStatus.approved,
        )
    )
    db.session.commit()
    db.session.expunge_all()
    stored = db.session.scalars(sa.select(Accrual.amount).order_by(Accrual.dedupe_key)).all()
    assert stored == [amount, -amount]
    assert all(isinstance(value, Decimal) for value in stored)


def test_sum_of_money_is_exact_in_sql(app_ctx: Flask) -> None:
    partner = _partner()
    for index, value in enumerate(["0.10", "0.20", "999999999999.70"]):
        db.session.add(
            Accrual(
                dedupe_key=f"s{index}",
                partner_id=partner.id,
                kind=AccrualKind.bonus,
                amount=Decimal(value),
                status=AccrualStatus.approved,
            )
        )
    db.session.commit()
    total = db.session.scalar(sa.select(sa.func.sum(Accrual.amount)))
    assert total == Decimal("1000000000000.00")


def test_enums_are_stored_as_their_values(app_ctx: Flask) -> None:
    _partner()
    db.session.commit()
    raw = db.session.execute(sa.text("SELECT kind, status FROM partners")).one()
    assert tuple(raw) == ("ambassador", "active")
