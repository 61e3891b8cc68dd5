"""A partner in two programs, in Russian, in Chromium: «Мои программы» shows both
programs with the partner's standing in each (the tier reached, the goal's progress),
and the statement it downloads has one section per program whose totals add up to the
period's total (the PDF's text, from pdftotext)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page

from server.security.commands import NewUser, create_user
from server.security.roles import Role
from server.statements.commands import render_statement
from server.statements.models import StatementStatus
from tests.browser.conftest import log_in, screenshot
from tests.integration.statements.programs_world import PARTNER, TITLES, load_two_programs

USERNAME, PASSWORD = "shop-1", "shop-1-secret"
#: «1 220,00 ₽» as pdftotext prints it (spaces of any kind between thousands)
AMOUNT = r"(-?\d{1,3}(?:[\s\u00a0\u202f]\d{3})*,\d{2})\s*₽"


def _amount(text: str) -> Decimal:
    return Decimal(re.sub(r"[\s\u00a0\u202f]", "", text).replace(",", "."))


@pytest.fixture
def shop_world(app: Flask, tmp_path: Path) -> Iterator[int]:
    app.config["FILES_DIR"] = str(tmp_path / "files")
    with app.app_context():
        world = load_two_programs()
        create_user(
            NewUser(USERNAME, PASSWORD, Role.PARTNER, "Ольга", "Магазинова", "shop@x.test", PARTNER)
        )
        assert render_statement(world.statement_id) is StatementStatus.ready
        yield world.statement_id


@pytest.mark.browser
def test_a_partner_in_two_programs_sees_both_and_a_statement_by_program(
    live_server: str, page: Page, shop_world: int, tmp_path: Path
) -> None:
    log_in(page, live_server, USERNAME, PASSWORD)
    page.goto(f"{live_server}/portal/")
    page.click("#portal-nav >> text=Мои программы")
    page.wait_for_selector("[data-program]")
    screenshot(page, "portal-my-programs-ru")
    for slug, title in TITLES.items():
        panel = page.locator(f'[data-program="{slug}"]')
        assert panel.count() == 1
        heading = panel.locator(".panel-title").inner_text()
        assert f"Программа «{title}»" in heading and slug not in heading
        assert "Мои показатели" in panel.inner_text()
    stores = page.locator('[data-program="stores-2026"] [data-standing="tier"]').inner_text()
    assert "март 2026" in stores and "достигнута ступень 5 %" in stores
    goal = page.locator('[data-program="web-2026"] [data-standing="goal"]').inner_text()
    assert "число продаж — 2 из 2" in goal and "цель выполнена" in goal
    body = page.locator("#portal-nav ~ *").all_inner_texts()
    assert not re.search(r"\b(tier|goal|under review|approved|Program)\b", " ".join(body))

    page.click("#portal-nav >> text=/Выписки/")
    with page.expect_download() as download_info:
        page.click(f'tr[data-statement="{shop_world}"] a')
    target = tmp_path / "statement.pdf"
    download_info.value.save_as(str(target))
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(target), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    for title in TITLES.values():
        assert f"Программа «{title}»" in text
    summary = text[text.index("Итоги по разделам") :]
    found = re.findall(r"Программа «([^»]+)» " + AMOUNT, summary)
    sections = {title: _amount(amount) for title, amount in found}
    assert set(sections) == set(TITLES.values())
    assert all(value > 0 for value in sections.values())
    other = _amount(re.findall(r"Выплаты и записи вне программ " + AMOUNT, summary)[0])
    grand = _amount(re.findall(r"Итого за период \(к выплате\) " + AMOUNT, summary)[0])
    assert sum(sections.values(), other) == grand
    # each section ends with its own total, the same as the summary's, in the same order
    own = re.findall(r"Итого по разделу \(к выплате\) " + AMOUNT, text[: len(text) - len(summary)])
    assert [_amount(amount) for amount in own] == [*sections.values(), other]
