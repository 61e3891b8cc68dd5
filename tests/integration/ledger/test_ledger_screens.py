"""Ledger screens: filtered CSV export, the event page, intake rejections; read-only."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from server.demo.commands import load_demo
from server.extensions import db
from server.ledger.models import (
    Accrual,
    EventStatus,
    IntakeRejection,
)
from server.partners.models import Partner
from server.security.roles import Role
from tests.support.factories import accrual, held, partner, sale
from tests.support.web import login


def _ledger(app: Flask) -> dict[str, int]:
    with app.app_context():
        mine, other = partner("P-ЮГ"), partner("P-2")
        order = sale('=HYPERLINK("http://x")', mine, amount="1234.50")
        accrual(order, mine, "1234.56")
        held(order, mine, "-0.10", rule="штраф", reason="hold-large")
        accrual(sale("s2", other), other, "99.00")
        db.session.commit()
        return {"mine": mine.id, "other": other.id, "sale": order.id}


def _csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_follows_the_list_filters(app: Flask) -> None:
    ids = _ledger(app)
    client = login(app)
    page = client.get(f"/accrualview/list/?_flt_0_partner={ids['mine']}").get_data(as_text=True)
    assert f"/accrualview/csv/?_flt_0_partner={ids['mine']}" in page

    response = client.get(f"/accrualview/csv/?_flt_0_partner={ids['mine']}")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    rows = _csv(response.data)
    assert len(rows) == 2
    headers = list(rows[0])
    partner_col, amount_col, rule_col, event_col = headers[2], headers[7], headers[4], headers[3]
    assert {row[partner_col] for row in rows} == {"P-ЮГ"}
    assert sorted(row[amount_col] for row in rows) == ["-0.10", "1234.56"]  # plain decimals
    assert "штраф" in {row[rule_col] for row in rows}
    assert all(row[event_col].startswith("shop/=HYPERLINK") for row in rows)

    on_hold = _csv(client.get("/accrualview/csv/?_flt_0_status=held").data)
    assert [row[amount_col] for row in on_hold] == ["-0.10"]
    everything = _csv(client.get("/accrualview/csv/").data)
    assert len(everything) == 3


def test_csv_cells_never_start_a_formula(app: Flask) -> None:
    with app.app_context():
        owner = partner("P-1")
        held(sale("=1+2", owner), owner, "1.00", rule="@SUM(A1)", reason="+cmd")
        db.session.commit()
    rows = list(
        csv.reader(io.StringIO(login(app).get("/accrualview/csv/").data.decode("utf-8-sig")))
    )
    cells = [cell for row in rows[1:] for cell in row]
    assert "'@SUM(A1)" in cells and "'+cmd" in cells
    assert not any(cell.startswith(("=", "@", "+")) for cell in cells)


def test_anonymous_and_legal_cannot_export_or_open_ledger_pages(app: Flask) -> None:
    ids = _ledger(app)
    for client in (app.test_client(), login(app, Role.LEGAL)):
        for url in (
            "/accrualview/csv/",
            f"/saleseventview/show/{ids['sale']}",
            "/intakerejectionview/list/",
        ):
            response = client.get(url)
            assert response.status_code in (302, 401, 403), url
            assert b"1234" not in response.data


def test_event_page_shows_escaped_payload_attribution_and_accruals(app: Flask) -> None:
    with app.app_context():
        owner = partner("P-1")
        order = sale("s-xss", owner, amount="500.00")
        order.payload = {**order.payload, "promo_code": "<script>alert(1)</script>", "note": "Ёлка"}
        order.status = EventStatus.processed
        accrual(order, owner, "50.00")
        held(order, owner, "5.00", rule="bonus", reason="hold-velocity")
        rejected = sale("s-bad", owner, amount="1.00")
        rejected.status = EventStatus.rejected
        rejected.rejection_reason = "unknown_partner"
        db.session.commit()
        sale_id, rejected_id = order.id, rejected.id
    client = login(app)
    page = client.get(f"/saleseventview/show/{sale_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;note&#34;: &#34;Ёлка&#34;" in page  # pretty JSON, escaped, Cyrillic kept
    assert page.count("data-accrual=") == 2
    assert "hold-velocity" in page and "50,00" in page
    assert "P-1" in page
    assert f"/accrualview/list/?_flt_0_event={sale_id}" in page
    by_event = _csv(client.get(f"/accrualview/csv/?_flt_0_event={sale_id}").data)
    assert len(by_event) == 2
    bad = client.get(f"/saleseventview/show/{rejected_id}").get_data(as_text=True)
    assert "unknown_partner" in bad and "data-rejection" in bad
    with app.app_context():
        db.session.get(type(rejected), rejected_id).rejection_reason = "unattributed"
        db.session.commit()
    listing = client.get("/saleseventview/list/").get_data(as_text=True)
    # the API's words in the user's language (they showed as "unattributed", "online"); an
    # unknown partner id (NOPE-99) read «нет кода или ссылки партнёра», as if none was sent
    assert "партнёр не найден ни по номеру, ни по коду, ни по ссылке" in listing
    assert ">unattributed<" not in listing


def test_intake_rejections_are_listed_read_only(app: Flask) -> None:
    with app.app_context():
        db.session.add(
            IntakeRejection(
                source="pos-msk",
                external_id="r-1",
                line=7,
                reason="invalid_amount",
                payload={"id": "r-1", "amount": "<b>много</b>"},
            )
        )
        db.session.commit()
        rejection_id = db.session.scalar(sa.select(IntakeRejection.id))
    client = login(app)
    listing = client.get("/intakerejectionview/list/").get_data(as_text=True)
    assert "invalid_amount" in listing and "pos-msk" in listing
    show = client.get(f"/intakerejectionview/show/{rejection_id}").get_data(as_text=True)
    assert "&lt;b&gt;много&lt;/b&gt;" in show
    for url in (
        "/intakerejectionview/add",
        f"/intakerejectionview/edit/{rejection_id}",
        f"/intakerejectionview/delete/{rejection_id}",
        "/accrualview/add",
        "/accrualview/delete/1",
        "/saleseventview/edit/1",
    ):
        assert client.get(url).status_code in (302, 403, 404, 405), url


def test_demo_ledger_export_matches_the_database(app: Flask) -> None:
    with app.app_context():
        load_demo()
        partner_id = db.session.scalar(sa.select(Partner.id).order_by(Partner.id).limit(1))
        expected = db.session.execute(
            sa.select(sa.func.count(Accrual.id), sa.func.sum(Accrual.amount)).where(
                Accrual.partner_id == partner_id
            )
        ).one()
        total = db.session.scalar(sa.select(sa.func.count(Accrual.id)))
    client = login(app)
    rows = _csv(client.get(f"/accrualview/csv/?_flt_0_partner={partner_id}").data)
    amount_col = list(rows[0])[7]
    assert len(rows) == expected[0]
    assert sum(Decimal(row[amount_col]) for row in rows) == expected[1]
    assert len(_csv(client.get("/accrualview/csv/").data)) == total
    assert client.get("/accrualview/list/").status_code == 200
