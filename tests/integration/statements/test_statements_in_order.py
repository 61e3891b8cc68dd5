"""Periods close in order, and a statement shows its own month.

Regression: with history since June and no period closed, closing October gave A-AMB-01
a 27-page statement of 501 «корректировка за 2026-06…09» rows, and «Начислено за период»
summed five months.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from server.demo.commands import load_demo
from server.extensions import db
from server.partners.models import Partner
from server.security.roles import Role
from server.statements.commands import (
    EarlierPeriodsOpen,
    close_period,
    open_months_through,
    statement_data,
)
from server.statements.models import Statement
from tests.support.web import login

MONTHS = [
    (date(2026, 6, 1), date(2026, 6, 30)),
    (date(2026, 7, 1), date(2026, 7, 31)),
    (date(2026, 8, 1), date(2026, 8, 31)),
    (date(2026, 9, 1), date(2026, 9, 30)),
    (date(2026, 10, 1), date(2026, 10, 31)),
]


def test_a_close_after_open_months_is_refused_and_names_them(app: Flask) -> None:
    with app.app_context():
        load_demo()
        assert open_months_through(date(2026, 10, 31)) == MONTHS
        with pytest.raises(EarlierPeriodsOpen) as refused:
            close_period(date(2026, 10, 1), date(2026, 10, 31))
        assert refused.value.first_open == date(2026, 6, 1)
        assert "01.06.2026" in str(refused.value) and "30.09.2026" in str(refused.value)
        # in order, a month at a time, it goes through; the next one waits for October
        close_period(*MONTHS[0])
        assert open_months_through(date(2026, 10, 31)) == MONTHS[1:]
        with pytest.raises(EarlierPeriodsOpen):
            close_period(date(2026, 8, 1), date(2026, 8, 31))


def test_a_manager_closes_the_open_months_in_order_and_october_shows_october(
    app: Flask,
) -> None:
    with app.app_context():
        load_demo()
    client = login(app, Role.MANAGER)
    page = client.get("/statements/").text
    assert "Открытых периодов: 5, с 01.06.2026 по 31.10.2026" in page
    assert 'value="2026-06-01"' in page  # the form proposes the first open month
    refused = client.post(
        "/statements/close",
        data={"period_start": "2026-10-01", "period_end": "2026-10-31"},
        follow_redirects=True,
    )
    assert "Периоды закрываются по порядку" in refused.text
    done = client.post(
        "/statements/close-in-order", data={"period_end": "2026-10-31"}, follow_redirects=True
    )
    assert "Закрыто периодов по порядку: 5" in done.text
    assert "Открытых периодов" not in done.text
    with app.app_context():
        ambassador = db.session.scalars(sa.select(Partner).where(Partner.code == "A-AMB-01")).one()
        october = db.session.scalars(
            sa.select(Statement).where(
                Statement.partner_id == ambassador.id, Statement.period_start == date(2026, 10, 1)
            )
        ).one()
        data, _template = statement_data(october)
    assert Decimal(data["totals"]["opening"]) > 0  # the earlier months, as one balance
    assert all(
        row["date"].startswith("2026-10") for group in data["groups"] for row in group["lines"]
    )
    # late rows of September (refunds and decisions written after its close) are few,
    # and printed as sums by month, operation and rule
    assert len(data["adjustments"]) < 40
    assert len(data["adjustment_groups"]) <= len(data["adjustments"])
    for group in data["adjustment_groups"]:
        assert group["period"] and group["label"] and group["count"] >= 1
