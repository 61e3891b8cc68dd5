"""The partner portal on the demo data: a partner's own pages and files work, and every
path to another partner's data (ids in URLs, list filters, exports, admin views, the
REST API) is refused with 403 or 404 (FAB's own views redirect to the login page)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from server.demo.commands import load_demo
from server.documents.contracts import create_contract, render_contract
from server.extensions import db
from server.ledger.models import Accrual
from server.partners.codes import NewCode, generate_code, revoke_codes
from server.partners.models import AttributionCode, CodeKind, Partner, PartnerKind
from server.security.commands import NewUser, create_user
from server.security.roles import Role
from server.statements.commands import close_period, render_statement, statement_ids
from server.statements.models import Statement
from tests.conftest import app_over
from tests.support.clock import SUITE_NOW

DEMO_PARTNER = "A-AMB-01"


@pytest.fixture(scope="module")
def app(
    migrated_database: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    """One app for the module: the world below (the demo, a closed month, two partners'
    contracts and statements rendered) takes 11 to 15 s to build, and the tests read it.
    The one test that writes (the QR sheet) adds a code and a login nobody else counts.
    """
    files = str(tmp_path_factory.mktemp("files"))
    with app_over(migrated_database, FILES_DIR=files) as application:
        yield application


@pytest.fixture(scope="module")
def world(app: Flask) -> dict[str, Any]:
    # built on the suite's day, as the function-scoped clock gives every test
    with time_machine.travel(SUITE_NOW, tick=True), app.app_context():
        load_demo()
        mine = db.session.scalars(sa.select(Partner).where(Partner.code == DEMO_PARTNER)).one()
        close_id = close_period(date(2026, 6, 1), date(2026, 6, 30))
        stated = {}
        for statement_id in statement_ids(close_id):
            statement = db.session.get(Statement, statement_id)
            assert statement is not None
            stated[statement.partner_id] = statement_id
        # another offline point, one with a statement for the month (the first such by
        # code: an unordered pick was sometimes a point without one, a flaky KeyError)
        other_code = db.session.scalars(
            sa.select(AttributionCode)
            .join(Partner)
            .where(
                AttributionCode.kind == CodeKind.qr,
                Partner.id != mine.id,
                Partner.id.in_(list(stated)),
            )
            .order_by(Partner.code, AttributionCode.id)
            .limit(1)
        ).one()
        other = other_code.partner
        my_code = db.session.scalars(
            sa.select(AttributionCode)
            .where(AttributionCode.partner_id == mine.id)
            .order_by(AttributionCode.id)
            .limit(1)
        ).one()
        contracts = {}
        for owner in (mine, other):
            contract_id = create_contract(owner.id, on=date(2026, 6, 1))
            render_contract(contract_id)
            contracts[owner.id] = contract_id
        statements = {}
        for owner in (mine, other):
            render_statement(stated[owner.id])
            statements[owner.id] = stated[owner.id]
        other_accrual = db.session.scalar(
            sa.select(Accrual.id).where(Accrual.partner_id == other.id).limit(1)
        )
        ids = {
            "mine": mine.id,
            "other": other.id,
            "my_code": my_code.id,
            "other_code": other_code.id,
            "my_contract": contracts[mine.id],
            "other_contract": contracts[other.id],
            "my_statement": statements[mine.id],
            "other_statement": statements[other.id],
            "other_accrual": other_accrual,
            "mine_count": db.session.scalar(
                sa.select(sa.func.count(Accrual.id)).where(Accrual.partner_id == mine.id)
            ),
        }
    # requests run outside the app context, each in its own, as a server runs them
    return ids


def _demo_partner(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login/", data={"username": "partner", "password": "partner-demo"})
    assert response.status_code in (200, 302)
    return client


def test_the_partner_sees_its_own_account_and_files(app: Flask, world: dict[str, Any]) -> None:
    client = _demo_partner(app)
    assert client.get("/").headers["Location"].endswith("/portal/")
    home = client.get("/portal/")
    assert home.status_code == 200
    assert DEMO_PARTNER in home.get_data(as_text=True)
    rules = client.get("/portal/programs").get_data(as_text=True)
    assert 'data-rule="' in rules
    page = client.get("/portal/accruals").get_data(as_text=True)
    assert f"{world['mine_count']}" in page
    codes = client.get("/portal/codes")
    assert codes.status_code == 200
    png = client.get(f"/portal/codes/{world['my_code']}.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    pdf = client.get(f"/portal/statements/{world['my_statement']}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    contract = client.get(f"/portal/contracts/{world['my_contract']}.pdf")
    assert contract.status_code == 200 and contract.data.startswith(b"%PDF")
    assert client.get("/portal/statements").status_code == 200


def test_exports_and_filters_carry_only_the_partners_rows(
    app: Flask, world: dict[str, Any]
) -> None:
    client = _demo_partner(app)
    body = client.get("/portal/accruals.csv").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == world["mine_count"]
    # a partner's file speaks the partner's language: headers and stored words
    assert body.splitlines()[0].startswith("Номер начисления,Время (UTC),Событие")
    statuses = {row["Статус"] for row in rows} | {row["Тип"] for row in rows}
    assert statuses and all(re.fullmatch(r"[а-яё ]+", status) for status in statuses), statuses
    rows = [{"id": row["Номер начисления"]} for row in rows]
    with app.app_context():
        ids = {int(row["id"]) for row in rows}
        owners = set(db.session.scalars(sa.select(Accrual.partner_id).where(Accrual.id.in_(ids))))
    assert owners == {world["mine"]}
    assert str(world["other_accrual"]) not in {row["id"] for row in rows}
    # filters from the admin list (partner id) are ignored, never widen the list
    filtered = client.get(f"/portal/accruals.csv?_flt_0_partner={world['other']}&partner=x")
    assert len(list(csv.DictReader(io.StringIO(filtered.data.decode("utf-8-sig"))))) == len(rows)


def test_another_partners_ids_are_not_found_anywhere(app: Flask, world: dict[str, Any]) -> None:
    client = _demo_partner(app)
    refused = [
        f"/portal/statements/{world['other_statement']}.pdf",
        f"/portal/contracts/{world['other_contract']}.pdf",
        f"/portal/codes/{world['other_code']}.png",
        f"/portal/codes/{world['other_code']}.svg",
        "/portal/statements/999999.pdf",
        "/portal/contracts/999999.pdf",
    ]
    for url in refused:
        assert client.get(url).status_code == 404, url


STAFF_URLS = (
    "/partnerview/list/",
    "/partnerview/show/{other}",
    "/accrualview/list/",
    "/accrualview/csv/",
    "/salesevent/list/",
    "/contracts/{other_contract}/pdf",
    "/attributioncodeview/qr/{other_code}.png",
    "/attributioncodeview/sheet/{other}",
    "/statements/",
    "/statements/pdf/{other_statement}",
    "/statements/1/payouts.csv",
    "/dashboard/",
    "/dashboard/export.csv",
    "/api/v1/_openapi",
    "/api/v1/events",
    "/users/list/",
)


def test_the_partner_cannot_open_staff_views_or_the_api(app: Flask, world: dict[str, Any]) -> None:
    client = _demo_partner(app)
    for url in STAFF_URLS:
        response = client.get(url.format(**world))
        assert response.status_code in (302, 401, 403, 404, 405), url
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], url
    posted = client.post("/api/v1/events", json={"events": []})
    assert posted.status_code in (401, 403)
    closing = client.post("/statements/close", data={"period_start": "2026-07-01"})
    assert closing.status_code in (302, 403)


def test_staff_and_anonymous_have_no_portal(app: Flask, world: dict[str, Any]) -> None:
    from server.security.roles import Role
    from tests.support.web import login

    anonymous = app.test_client()
    response = anonymous.get(f"/portal/statements/{world['my_statement']}.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    manager = login(app, Role.MANAGER)
    assert manager.get("/portal/").status_code in (302, 403)  # no Portal permission
    admin = login(app, Role.ADMIN)
    assert admin.get("/portal/").status_code == 403  # allowed, but acts for no partner


# Last: it revokes the other partner's QR codes, which the tests above look for
def test_the_qr_sheet_is_offered_only_where_it_can_be_printed(
    app: Flask, world: dict[str, Any]
) -> None:
    # Regression: an ambassador given a QR code saw the sheet's link, which answered 404
    with app.app_context():
        generate_code(NewCode(partner_id=world["mine"], kind=CodeKind.qr))
        point = db.session.get(AttributionCode, world["other_code"]).partner
        assert point.kind is PartnerKind.offline_point
        create_user(
            NewUser("point", "point-pass-1", Role.PARTNER, "P", "P", "p@x.test", point.code)
        )
        point_codes = [c.id for c in point.codes if c.kind is CodeKind.qr]
    ambassador = _demo_partner(app).get("/portal/codes").text
    assert 'id="codes"' in ambassador and "sheet.pdf" not in ambassador
    client = app.test_client()
    client.post("/login/", data={"username": "point", "password": "point-pass-1"})
    assert "sheet.pdf" in client.get("/portal/codes").text
    assert client.get("/portal/codes/sheet.pdf").data.startswith(b"%PDF")
    with app.app_context():
        revoke_codes(point_codes)
    assert "sheet.pdf" not in client.get("/portal/codes").text
