"""A partner logs in to the portal in Chromium, opens its statements and downloads the
PDF (the PDF's text, from pdftotext, carries the statement's lines), and exports its
accruals as CSV."""

from __future__ import annotations

import csv
import io
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from playwright.sync_api import Page

from server.demo.commands import load_demo
from server.extensions import db
from server.labels import value_label
from server.ledger.models import Accrual, AccrualKind
from server.partners.models import Partner
from server.statements.commands import close_period, render_statement, statement_data
from server.statements.models import Statement
from tests.browser.conftest import log_in, screenshot


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
    app: Flask, live_server: str, page: Page, statement_world: dict[str, Any], tmp_path: Path
) -> None:
    log_in(page, live_server, "partner", "partner-demo")
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


@pytest.mark.browser
def test_a_partner_exports_its_accruals_as_csv(
    app: Flask, live_server: str, page: Page, statement_world: dict[str, Any], tmp_path: Path
) -> None:
    """Served by a real HTTP server, the CSV is read after the view has returned: the
    export must not need the view's database session by then."""
    log_in(page, live_server, "partner", "partner-demo")
    page.goto(f"{live_server}/portal/accruals?from=2026-06-01&to=2026-06-30")
    with page.expect_download() as download_info:
        page.click("#csv-export")
    target = tmp_path / "accruals.csv"
    download_info.value.save_as(str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    with app.app_context():
        partner_id = db.session.scalar(sa.select(Partner.id).where(Partner.code == "A-AMB-01"))
        expected = db.session.scalar(
            sa.select(sa.func.count(Accrual.id)).where(
                Accrual.partner_id == partner_id,
                Accrual.occurred_at >= datetime(2026, 5, 31, 21, tzinfo=UTC),
                Accrual.occurred_at < datetime(2026, 6, 30, 21, tzinfo=UTC),
            )
        )
    assert expected and len(rows) == expected
    # a partner's export speaks the partner's language: headers and kinds in words
    with app.test_request_context(), force_locale("ru"):
        kinds = {str(value_label(kind)) for kind in AccrualKind}
    assert {row["Тип"] for row in rows} <= kinds
