"""A partner logs in to the portal in Chromium, opens its statements and downloads the
PDF; the PDF's text (pdftotext) carries the statement's lines."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from server.demo.commands import load_demo
from server.extensions import db
from server.ledger.models import Statement
from server.partners.models import Partner
from server.statements.commands import close_period, render_statement, statement_data
from tests.browser.conftest import screenshot


@pytest.fixture
def statement_world(app: Flask, tmp_path: Path) -> Iterator[dict[str, Any]]:
    app.config["FILES_DIR"] = str(tmp_path / "files")
    with app.app_context():
        load_demo()
        close_period(date(2026, 6, 1), date(2026, 6, 30))
        statement = db.session.scalars(
            sa.select(Statement).join(Partner).where(Partner.code == "A-AMB-01")
        ).one()
        render_statement(statement.id)
        data, _template = statement_data(statement)
        yield {"id": statement.id, "data": data}


@pytest.mark.browser
def test_a_partner_downloads_its_statement_pdf(
    app: Flask, live_server: str, page: Any, statement_world: dict[str, Any], tmp_path: Path
) -> None:
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", "partner")
    page.fill("input[name=password]", "partner-demo")
    with page.expect_navigation():
        page.click("[type=submit]")
    page.goto(f"{live_server}/portal/")
    assert page.locator("[data-kpi=payable]").count() == 1
    page.click("#portal-nav >> text=/Выписки|Statements/")
    screenshot(page, "portal-statements")
    with page.expect_download() as download_info:
        page.click(f'tr[data-statement="{statement_world["id"]}"] a')
    target = tmp_path / "statement.pdf"
    download_info.value.save_as(str(target))
    assert target.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    data = statement_world["data"]
    assert data["statement"]["number"] in text
    rows = data["rows"]
    assert rows
    for row in rows[:5] + rows[-3:]:
        assert row["event"] in text or row["description"][:20] in text, row
