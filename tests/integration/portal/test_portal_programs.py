"""«My programs» on both databases: a partner evaluated in two programs sees both, each
with its rules in plain words (no rule keys), what it earned there and its standing
(the tier its month-to-date sales reached, its goal's progress), from the engine's own
figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.ledger.models import PeriodFiguresRow
from server.security.roles import Role
from tests.integration.statements.programs_world import (
    PARTNER,
    TITLES,
    load_two_programs,
    make_campaign_of,
)
from tests.support.web import login


@pytest.fixture
def shop(app: Flask) -> Iterator[FlaskClient]:
    with app.app_context():
        load_two_programs()
    yield login(app, Role.PARTNER, PARTNER)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_both_programs_with_rules_earnings_and_standing(app: Flask, shop: FlaskClient) -> None:
    response = shop.get("/portal/programs", headers={"Accept-Language": "ru"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = _text(html)
    assert "Мои программы" in text
    for title in TITLES.values():
        assert f"Программа «{title}»" in text
    assert set(re.findall(r'data-program="([^"]+)"', html)) == set(TITLES)
    # rules in the engine's words, never by key
    assert "3 % от 0,00 ₽" in text or "3 %" in text
    assert 'data-rule="store-tiers"' in html and "store-tiers" not in text
    # standing: the tier reached with March's sales, the goal's progress
    with app.app_context():
        tiers = db.session.get(PeriodFiguresRow, ("stores-2026/store-tiers", PARTNER, "2026-03"))
        goal = db.session.get(PeriodFiguresRow, ("web-2026/two-sales", PARTNER, "2026-03"))
    assert tiers is not None and goal is not None
    assert "март 2026" in text
    rate = "5" if tiers.sales_amount >= Decimal("20000") else "3"
    assert f"достигнута ступень {rate} %" in text
    if goal.goal_paid:
        assert "цель выполнена" in text
    else:
        assert f"число продаж — {goal.sales_count} из 2" in text
    assert html.count('data-standing="tier"') == 1 and html.count('data-standing="goal"') == 1


def test_the_old_rules_address_leads_to_my_programs(shop: FlaskClient) -> None:
    response = shop.get("/portal/rules")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/portal/programs")


def test_a_campaigns_own_program_is_titled_by_its_campaign(app: Flask, shop: FlaskClient) -> None:
    """Portal and statement name a campaign's own program by its campaign."""
    from server.campaigns.models import CampaignStatus

    with app.app_context():
        make_campaign_of("stores-2026", CampaignStatus.running)
    text = _text(shop.get("/portal/programs").get_data(as_text=True))
    assert "Кампания «Весенняя распродажа»" in text
    assert "Программа «Онлайн-партнёры 2026»" in text
