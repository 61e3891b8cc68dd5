"""No money column can hold a float, NaN or an amount beyond its exact range: not
through the ``Money`` type, and not through raw SQL either (issue #19: a sale of
9223372036854775807 became accruals of 6.45636042579834e+19 on SQLite)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_appbuilder import Model

from server.db.types import MONEY_LIMIT, Money, MoneyOutOfRange
from server.extensions import db
from server.ledger.models import Accrual, AccrualKind, AccrualStatus
from server.partners.models import PartnerKind
from tests.support import factories


def _partner_id() -> int:
    partner = factories.partner(kind=PartnerKind.ambassador)
    db.session.commit()
    return partner.id


def _accrual(partner_id: int, amount: Any, key: str = "k") -> Accrual:
    return Accrual(
        dedupe_key=key,
        partner_id=partner_id,
        kind=AccrualKind.commission,
        amount=amount,
        status=AccrualStatus.approved,
    )


@pytest.mark.parametrize(
    "amount",
    [
        MONEY_LIMIT,
        -MONEY_LIMIT,
        Decimal("9999999999999999.995"),  # rounds up to the limit
        Decimal("461168601842738790.35"),  # 5 % of 2**63 - 1: was stored as a float
        Decimal("NaN"),
        Decimal("Infinity"),
        1.5,
    ],
)
def test_the_money_type_refuses_what_it_cannot_keep(app_ctx: Flask, amount: Any) -> None:
    partner_id = _partner_id()
    db.session.add(_accrual(partner_id, amount))
    with pytest.raises(sa.exc.StatementError) as raised:
        db.session.commit()
    assert isinstance(raised.value.orig, MoneyOutOfRange)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Accrual.id))) == 0


def test_the_largest_storable_amount_round_trips(app_ctx: Flask) -> None:
    partner_id = _partner_id()
    largest = MONEY_LIMIT - Decimal("0.01")
    db.session.add_all([_accrual(partner_id, largest, "a"), _accrual(partner_id, -largest, "b")])
    db.session.commit()
    db.session.expunge_all()
    stored = db.session.scalars(sa.select(Accrual.amount).order_by(Accrual.dedupe_key)).all()
    assert stored == [largest, -largest]


def _raw_insert(partner_id: int, literal: str) -> None:
    db.session.execute(
        sa.text(
            "INSERT INTO accruals (dedupe_key, partner_id, kind, amount, points, status, "
            f"created_at) VALUES ('raw', :partner, 'commission', {literal}, 0, 'approved', "
            "CURRENT_TIMESTAMP)"
        ),
        {"partner": partner_id},
    )


def _values_the_database_refuses(backend: str) -> list[str]:
    if backend == "sqlite":  # kopecks: a REAL, or a count beyond 10^16 roubles
        return ["1.5", "46116860184273879035", "1000000000000000000", "'abc'"]
    return ["'NaN'", "1e16", "-1e16"]


def test_the_database_refuses_floats_nan_and_out_of_range_money(app_ctx: Flask) -> None:
    partner_id = _partner_id()
    backend = app_ctx.config["DB_BACKEND"]
    for literal in _values_the_database_refuses(backend):
        with pytest.raises(sa.exc.IntegrityError):
            _raw_insert(partner_id, literal)
        db.session.rollback()
    _raw_insert(partner_id, "123" if backend == "sqlite" else "1.23")
    db.session.execute(sa.text("UPDATE accruals SET amount = amount + 1 WHERE dedupe_key = 'raw'"))
    factor = "1.01" if backend == "sqlite" else "1e17"  # a fraction of a kopeck / too large
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text(f"UPDATE accruals SET amount = amount * {factor}"))
    db.session.rollback()


def _money_columns() -> list[tuple[str, str]]:
    return sorted(
        (table.name, column.name)
        for table in Model.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, Money)
    )


def test_every_money_column_is_guarded_in_the_database(app_ctx: Flask) -> None:
    """A money column added later needs its trigger or constraint too (migration
    ``7d3e91b0c2a4`` shows how); a table rebuilt by a batch migration loses them."""
    columns = _money_columns()
    assert ("accruals", "amount") in columns and ("events", "amount") in columns
    if app_ctx.config["DB_BACKEND"] == "sqlite":
        # accruals (the hot table) by a CHECK constraint, the others by triggers
        names = set(
            db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        )
        names |= {c["name"] for c in sa.inspect(db.engine).get_check_constraints("accruals")}
        expected = {
            f"money_exact_{t}_{c}_{when}"
            for t, c in columns
            if (t, c) != ("accruals", "amount")
            for when in ("insert", "update")
        } | {"ck_accruals_amount_money"}
    else:
        names = set(
            db.session.scalars(sa.text("SELECT conname FROM pg_constraint WHERE contype = 'c'"))
        )
        expected = {f"ck_{t}_{c}_money" for t, c in columns}
    assert expected - names == set()
