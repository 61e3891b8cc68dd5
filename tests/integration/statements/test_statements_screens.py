"""Ledger → Statements: close a period from the form, follow the batch, download a PDF,
export payouts and mark them paid (CSRF-checked posts)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.ledger.models import Accrual, AccrualKind
from server.security.roles import Role
from server.statements.models import Statement
from tests.integration.statements.support import run_documents_worker
from tests.support.factories import accrual, partner, sale
from tests.support.web import login

MARCH = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.mark.usefixtures("seed_templates")
def test_a_manager_closes_a_period_and_pays_out(app: Flask) -> None:
    with app.app_context():
        owner = partner("P-SCR")
        accrual(sale("S-1", owner, MARCH), owner, "1234.56", MARCH)
        db.session.commit()
    client = login(app, Role.ADMIN)
    assert client.get("/statements/").status_code == 200
    response = client.post(
        "/statements/close", data={"period_start": "2026-03-01", "period_end": "2026-03-31"}
    )
    assert response.status_code == 302
    close_url = response.headers["Location"]
    close_id = int(close_url.rstrip("/").rsplit("/", 1)[1])
    assert client.get(f"/statements/{close_id}/progress.json").json == {
        "total": 1,
        "pending": 1,
        "ready": 0,
        "failed": 0,
    }
    run_documents_worker(app)
    page = client.get(f"/statements/{close_id}").get_data(as_text=True)
    assert "P-SCR" in page and "1234" in page.replace("\xa0", "").replace(" ", "")
    with app.app_context():
        statement_id = db.session.scalar(sa.select(Statement.id))
    pdf = client.get(f"/statements/pdf/{statement_id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    exported = client.get(f"/statements/{close_id}/payouts.csv")
    rows = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert [(row["partner_code"], row["amount"]) for row in rows] == [("P-SCR", "1234.56")]
    assert client.post(f"/statements/{close_id}/paid", data={}).status_code == 302
    with app.app_context():
        kinds = db.session.scalars(sa.select(Accrual.kind).order_by(Accrual.id)).all()
    assert kinds == [AccrualKind.commission, AccrualKind.payout]
    refused = client.post(
        "/statements/close", data={"period_start": "2026-03-01", "period_end": "2026-03-31"}
    )
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/statements/")
    # the reason in the user's language (it was English on Russian pages)
    assert "Периоды по 31.03.2026 уже закрыты" in client.get("/statements/").text
    reversed_dates = client.post(
        "/statements/close",
        data={"period_start": "2026-05-31", "period_end": "2026-05-01"},
        follow_redirects=True,
    )
    assert "Период заканчивается раньше, чем начинается." in reversed_dates.text
