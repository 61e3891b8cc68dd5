"""What the portal's pages say: partners read rules by name and in plain words, never
by the keys the program file gives them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from server.demo.commands import load_demo
from tests.conftest import app_over
from tests.support.clock import SUITE_NOW


@pytest.fixture(scope="module")
def app(migrated_database: dict[str, Any]) -> Iterator[Flask]:
    """The demo, built once per database for the module: its tests only read it."""
    with app_over(migrated_database) as application:
        # on the suite's day, as the function-scoped clock gives every test
        with time_machine.travel(SUITE_NOW, tick=True), application.app_context():
            load_demo()
        yield application


@pytest.fixture
def partner(app: Flask) -> Iterator[FlaskClient]:
    client = app.test_client()
    response = client.post("/login/", data={"username": "partner", "password": "partner-demo"})
    assert response.status_code in (200, 302)
    yield client


def _rows(page: str) -> list[list[tuple[str, str]]]:
    """(attributes, inner HTML) of every cell of every row of the accruals table."""
    cells = re.compile(r"<td([^>]*)>(.*?)</td>", re.S)
    return [
        [(attributes, inner.strip()) for attributes, inner in cells.findall(row)]
        for row in re.findall(r'<tr data-accrual="\d+">(.*?)</tr>', page, re.S)
    ]


def _rule_cells(page: str) -> list[tuple[str, str]]:
    """(tooltip, text) of every rule cell of the accruals table (the fourth column)."""
    return [row[3] for row in _rows(page)]


def test_accrual_rows_name_the_rule_and_say_it_in_words(partner: FlaskClient) -> None:
    page = partner.get("/portal/accruals").get_data(as_text=True)
    cells = _rule_cells(page)
    assert cells
    texts = {text for _tooltip, text in cells}
    # the demo ambassador in region A earns from these rules, keyed a-online and welcome
    assert "Процент с продаж (CPS)" in texts
    assert "Бонус за первую покупку клиента" in texts
    assert not texts & {"a-online", "welcome", "upline"}
    tooltips = {tooltip for tooltip, text in cells if text == "Процент с продаж (CPS)"}
    assert tooltips == {' title="7 % с каждой продажи онлайн в регионе A"'}


def test_the_rule_filter_offers_names_and_filters_by_key(partner: FlaskClient) -> None:
    page = partner.get("/portal/accruals").get_data(as_text=True)
    options = dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', page))
    assert options["a-online"] == "Процент с продаж (CPS)"
    assert options["welcome"] == "Бонус за первую покупку клиента"
    filtered = partner.get("/portal/accruals?rule=welcome").get_data(as_text=True)
    assert {text for _tooltip, text in _rule_cells(filtered)} == {"Бонус за первую покупку клиента"}


def test_rule_names_follow_the_users_language(partner: FlaskClient) -> None:
    partner.get("/lang/en")
    page = partner.get("/portal/accruals").get_data(as_text=True)
    texts = {text for _tooltip, text in _rule_cells(page)}
    assert "Percent of sale (CPS)" in texts
    assert "Процент с продаж (CPS)" not in texts
    home = partner.get("/portal/").get_data(as_text=True)
    assert "Percent of sale (CPS)" in {text for _tooltip, text in _rule_cells(home)}


HOLD_TITLES = {
    "Задержка частых покупок одного клиента",
    "Задержка крупных продаж",
    "Задержка покупок партнёра у самого себя",
}


def test_a_held_row_names_its_hold_rule_and_one_word_for_its_status(
    partner: FlaskClient,
) -> None:
    # Regression: held rows said "velocity" (the hold rule's key) under Details, and the
    # status filter offered «на удержании» for rows the table calls «на проверке»
    page = partner.get("/portal/accruals?status=held").get_data(as_text=True)
    rows = _rows(page)
    assert rows
    for row in rows:
        status, details = row[5][1], row[8][1]
        assert status == "на проверке"
        hold = re.fullmatch(r'<span title="([^"]+)">([^<]+)</span>.*', details, re.S)
        assert hold, details
        assert hold.group(2) in HOLD_TITLES
        assert hold.group(1).startswith("Начисления")
    options = dict(re.findall(r'<option value="(held|approved)"[^>]*>([^<]+)</option>', page))
    assert options == {"held": "на проверке", "approved": "подтверждено"}
