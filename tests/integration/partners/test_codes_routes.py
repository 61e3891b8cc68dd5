"""/r and /q for visitors; QR images, the A4 sheet and the code screens for managers."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.partners.codes import NewCode, generate_code, revoke_codes
from server.partners.models import (
    AttributionCode,
    CodeClick,
    CodeKind,
    CodeStatus,
    Partner,
    PartnerKind,
    VisitKind,
)
from tests.support.factories import partner
from tests.support.web import login


def _codes(
    app: Flask, landing: str | None = "https://shop.example/landing?utm=x"
) -> dict[str, str]:
    with app.app_context():
        owner = partner("A-SHOP-01", kind=PartnerKind.offline_point)
        owner.name = "Магазин «Север»"
        owner.landing_url = landing
        owner.legal_address = "Москва, ул. Тверская, 1"
        db.session.commit()
        return {
            "owner": str(owner.id),
            "referral": generate_code(NewCode(owner.id, CodeKind.referral)).code,
            "promo": generate_code(NewCode(owner.id, CodeKind.promo)).code,
            "qr": generate_code(NewCode(owner.id, CodeKind.qr)).code,
        }


def _visits(app: Flask) -> list[tuple[str, VisitKind, str | None, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(
                AttributionCode.code, CodeClick.kind, CodeClick.user_agent, CodeClick.referrer
            )
            .join(AttributionCode, CodeClick.code_id == AttributionCode.id)
            .order_by(CodeClick.id)
        ).all()
        return [tuple(row) for row in rows]


def test_referral_click_is_recorded_and_redirects_to_the_landing_page(app: Flask) -> None:
    codes = _codes(app)
    client = app.test_client()
    response = client.get(
        f"/r/{codes['referral']}?next=https://evil.example/",
        headers={"User-Agent": "Mozilla/5.0 test", "Referer": "https://blog.example/post"},
    )
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "shop.example", "/landing")
    assert parse_qs(target.query) == {"utm": ["x"], "ref": [codes["referral"]]}
    assert _visits(app) == [
        (codes["referral"], VisitKind.click, "Mozilla/5.0 test", "https://blog.example/post")
    ]


@pytest.mark.parametrize(
    "landing",
    [
        None,
        "javascript:alert(1)",
        "//evil.example/",
        "https://user:pass@evil.example/",
        "https://shop.example\\@evil.example/",
        "data:text/html,<script>alert(1)</script>",
        "ftp://shop.example/",
    ],
)
def test_no_redirect_without_a_safe_landing_page(app: Flask, landing: str | None) -> None:
    codes = _codes(app, landing)
    response = app.test_client().get(f"/r/{codes['referral']}")
    assert response.status_code == 200
    assert "Location" not in response.headers
    page = response.get_data(as_text=True)
    assert "Магазин «Север»" in page
    assert "<script>alert" not in page
    assert len(_visits(app)) == 1


@pytest.mark.parametrize(
    "path",
    [
        "/r/nope",
        "/r/%2F%2Fevil.example",
        "/r/https:%2F%2Fevil.example",
        "/q/nope",
        "/r/",
        "/q/../r/x",
    ],
)
def test_unknown_codes_give_a_404_page(app: Flask, path: str) -> None:
    _codes(app)
    client = app.test_client()
    response = client.get(path)
    if response.status_code == 308:  # Werkzeug merges the slashes of a decoded %2F%2F
        assert urlsplit(response.headers["Location"]).netloc in ("", "localhost")
        response = client.get(path, follow_redirects=True)
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert _visits(app) == []


def test_revoked_and_wrong_kind_codes_give_404_and_record_nothing(app: Flask) -> None:
    codes = _codes(app)
    with app.app_context():
        referral = db.session.scalar(
            sa.select(AttributionCode).where(AttributionCode.code == codes["referral"])
        )
        assert referral is not None
        revoke_codes([referral.id])
    client = app.test_client()
    assert client.get(f"/r/{codes['referral']}").status_code == 404
    assert client.get(f"/q/{codes['referral']}").status_code == 404  # not a QR token
    assert client.get(f"/r/{codes['qr']}").status_code == 404  # a QR token is scanned
    assert client.get(f"/r/{codes['promo']}").status_code == 302
    assert [visit[1] for visit in _visits(app)] == [VisitKind.click]


def test_scan_shows_the_point_offer_in_both_languages(app: Flask) -> None:
    codes = _codes(app)
    client = app.test_client()
    page = client.get(f"/q/{codes['qr']}", headers={"User-Agent": "Camera"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Магазин «Север»" in text
    assert "Регион A" in text
    assert "Москва, ул. Тверская, 1" in text
    english = client.get(f"/q/{codes['qr']}/offer?_l_=en").get_data(as_text=True)
    assert "Region A" in english
    assert _visits(app) == [(codes["qr"], VisitKind.scan, "Camera", None)]  # switching is no scan


def test_qr_images_and_sheet_need_a_login(app: Flask) -> None:
    codes = _codes(app)
    with app.app_context():
        code_id = db.session.scalar(
            sa.select(AttributionCode.id).where(AttributionCode.code == codes["qr"])
        )
    client = app.test_client()
    for url in (
        f"/attributioncodeview/qr/{code_id}.png",
        f"/attributioncodeview/qr/{code_id}.svg",
        f"/attributioncodeview/sheet/{codes['owner']}",
        "/attributioncodeview/generate/",
        "/attributioncodeview/list/",
    ):
        response = client.get(url)
        assert response.status_code in (302, 401, 403), url
        assert not response.data.startswith((b"%PDF", b"\x89PNG", b"<?xml"))


def test_manager_gets_png_svg_and_the_a4_sheet(app: Flask, tmp_path: Path) -> None:
    codes = _codes(app)
    with app.app_context():
        owner = db.session.get(Partner, int(codes["owner"]))
        assert owner is not None
        second = generate_code(NewCode(owner.id, CodeKind.qr)).code
        code_id = db.session.scalar(
            sa.select(AttributionCode.id).where(AttributionCode.code == codes["qr"])
        )
    client = login(app)
    png = client.get(f"/attributioncodeview/qr/{code_id}.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG\r\n\x1a\n")
    svg = client.get(f"/attributioncodeview/qr/{code_id}.svg")
    assert svg.mimetype == "image/svg+xml"
    assert f"http://localhost/q/{codes['qr']}".encode() in svg.data  # the SVG's title

    sheet = client.get(f"/attributioncodeview/sheet/{codes['owner']}")
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(sheet.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Магазин «Север»" in text
    flat = re.sub(r"\s+", "", text)
    for token in (codes["qr"], second):
        assert f"http://localhost/q/{token}" in flat
    assert codes["referral"] not in flat  # only the point's QR codes


def test_sheet_is_refused_for_a_partner_that_is_not_an_offline_point(app: Flask) -> None:
    codes = _codes(app)
    with app.app_context():
        owner = db.session.get(Partner, int(codes["owner"]))
        assert owner is not None
        owner.kind = PartnerKind.online_affiliate
        db.session.commit()
    response = login(app).get(f"/attributioncodeview/sheet/{codes['owner']}")
    assert response.status_code == 302
    assert not response.data.startswith(b"%PDF")


def test_manager_generates_and_revokes_codes_in_the_ui(app: Flask) -> None:
    codes = _codes(app)
    client = login(app)
    form = client.get(f"/attributioncodeview/generate/?partner_id={codes['owner']}")
    assert form.status_code == 200
    response = client.post(
        "/attributioncodeview/generate/",
        data={"partner_id": codes["owner"], "kind": "promo", "code": "NEWYEAR"},
    )
    assert response.status_code == 302
    duplicate = client.post(
        "/attributioncodeview/generate/",
        data={"partner_id": codes["owner"], "kind": "promo", "code": "newyear"},
    )
    assert duplicate.status_code == 200 and "data-error" in duplicate.get_data(as_text=True)
    with app.app_context():
        row = db.session.scalar(sa.select(AttributionCode).where(AttributionCode.code == "NEWYEAR"))
        assert row is not None
        show = client.get(f"/attributioncodeview/show/{row.id}").get_data(as_text=True)
        assert "http://localhost/r/NEWYEAR" in show
        client.post(
            "/attributioncodeview/action_post", data={"action": "revoke", "rowid": [str(row.id)]}
        )
        db.session.expire_all()
        assert db.session.get(AttributionCode, row.id).status is CodeStatus.revoked
    assert app.test_client().get("/r/NEWYEAR").status_code == 404
