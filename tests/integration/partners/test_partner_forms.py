"""The admin's region and partner forms refuse bad input with a form error, never a 500."""

from __future__ import annotations

from html import unescape

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.partners.models import Partner, PartnerKind, PartnerStatus, Region
from server.security.roles import Role
from tests.support.web import login

#: every field filled with valid values (real bank requisites, a valid INN and OGRN)
VALID_PARTNER = {
    "code": "A-NEW-01",
    "name": "Новый партнёр",
    "kind": "online_affiliate",
    "status": "active",
    "parent": "",
    "customer_ref": "",
    "email": "new@partners.example",
    "phone": "+7 (495) 123-45-67",
    "landing_url": "https://shop.example/?partner=A-NEW-01",
    "legal_name": "ООО «Новый партнёр»",
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "legal_address": "Москва, ул. Тверская, 1",
    "bank_name": "ПАО Банк",
    "bik": "044030827",
    "settlement_account": "40702810900000002851",
    "correspondent_account": "30101810200000000827",
}


def _admin(app: Flask) -> FlaskClient:
    client = login(app, Role.ADMIN)
    client.get("/lang/en")  # the messages below are the English source strings
    return client


def _region(app: Flask) -> str:
    with app.app_context():
        region = Region(code="A", name_ru="Регион A", name_en="Region A")
        db.session.add(region)
        db.session.commit()
        return str(region.id)


def _partners(app: Flask) -> list[Partner]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Partner)))


def _post_partner(client: FlaskClient, region_id: str, **changes: str) -> tuple[int, str]:
    response = client.post(
        "/partnerview/add", data={**VALID_PARTNER, "region": region_id, **changes}
    )
    return response.status_code, unescape(response.get_data(as_text=True))


def test_a_region_with_an_unknown_time_zone_is_refused(app: Flask) -> None:
    client = _admin(app)
    for zone in ("Mars/Olympus", "../../etc/passwd", " "):
        response = client.post(
            "/regionview/add",
            data={"code": "M", "name_ru": "Марс", "name_en": "Mars", "timezone": zone},
        )
        assert response.status_code == 200, zone
        assert "Enter a time zone name from the IANA database" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 0


def test_a_region_with_an_iana_time_zone_is_created(app: Flask) -> None:
    client = _admin(app)
    response = client.post(
        "/regionview/add",
        data={"code": "V", "name_ru": "Восток", "name_en": "East", "timezone": "Asia/Vladivostok"},
    )
    assert response.status_code == 302
    with app.app_context():
        region = db.session.scalar(sa.select(Region).where(Region.code == "V"))
        assert region is not None and region.timezone == "Asia/Vladivostok"


def test_a_tampered_kind_or_status_is_a_form_error_not_a_crash(app: Flask) -> None:
    region_id = _region(app)
    client = _admin(app)
    for field in ("kind", "status"):
        status, page = _post_partner(client, region_id, **{field: "nonsense"})
        assert status == 200, field
        assert "Not a valid choice" in page, field
        status, page = _post_partner(client, region_id, **{field: ""})
        assert status == 200, field
    assert _partners(app) == []


def test_bad_partner_details_are_refused_field_by_field(app: Flask) -> None:
    region_id = _region(app)
    client = _admin(app)
    cases = {
        "email": ("not-an-address", "Enter an e-mail address such as name@example.com."),
        "landing_url": (
            "javascript:alert(1)",
            "Enter a full web address starting with http:// or https://.",
        ),
        "inn": ("7707083894", "The INN's check digits do not match: look for a typo."),
        "kpp": ("77360100", "A KPP has 9 characters"),
        "ogrn": ("1027700132196", "The OGRN's check digit does not match: look for a typo."),
        "bik": ("04403082", "A BIK has 9 digits."),
        "settlement_account": (
            "40702810000000002851",
            "The account number does not match the BIK: look for a typo in both.",
        ),
        "correspondent_account": (
            "40702810900000002851",
            "A correspondent account starts with 301.",
        ),
        "phone": ("call me", "Enter a phone number"),
    }
    for field, (value, message) in cases.items():
        status, page = _post_partner(client, region_id, **{field: value})
        assert status == 200, field
        assert message in page, field
    assert _partners(app) == []


def test_a_fully_filled_valid_partner_is_created(app: Flask) -> None:
    region_id = _region(app)
    client = _admin(app)
    response = client.post("/partnerview/add", data={**VALID_PARTNER, "region": region_id})
    assert response.status_code == 302, unescape(response.get_data(as_text=True))
    [partner] = _partners(app)
    assert (partner.code, partner.kind, partner.status) == (
        "A-NEW-01",
        PartnerKind.online_affiliate,
        PartnerStatus.active,
    )
    assert (partner.inn, partner.settlement_account) == ("7707083893", "40702810900000002851")


def test_optional_details_may_stay_empty(app: Flask) -> None:
    region_id = _region(app)
    client = _admin(app)
    empty = {
        field: ""
        for field in VALID_PARTNER
        if field not in ("code", "name", "kind", "status", "parent")
    }
    status, page = _post_partner(client, region_id, **empty)
    assert status == 302, page
    [partner] = _partners(app)
    assert partner.status is PartnerStatus.active


def test_a_partner_is_edited_with_its_enum_values_preselected(app: Flask) -> None:
    region_id = _region(app)
    client = _admin(app)
    assert _post_partner(client, region_id)[0] == 302
    [partner] = _partners(app)
    page = unescape(client.get(f"/partnerview/edit/{partner.id}").get_data(as_text=True))
    # the options read as words, not stored values ("online_affiliate" showed before)
    assert '<option selected value="online_affiliate">online affiliate</option>' in page
    assert '<option selected value="active">active</option>' in page
    client.get("/lang/ru")
    russian = unescape(client.get(f"/partnerview/edit/{partner.id}").get_data(as_text=True))
    assert '<option selected value="online_affiliate">онлайн-партнёр</option>' in russian
    client.get("/lang/en")
    response = client.post(
        f"/partnerview/edit/{partner.id}",
        data={**VALID_PARTNER, "region": region_id, "status": "suspended", "kind": "nonsense"},
    )
    assert response.status_code == 200
    assert "Not a valid choice" in response.get_data(as_text=True)
    response = client.post(
        f"/partnerview/edit/{partner.id}",
        data={**VALID_PARTNER, "region": region_id, "status": "suspended"},
    )
    assert response.status_code == 302
    [partner] = _partners(app)
    assert partner.status is PartnerStatus.suspended


def test_the_empty_recruiter_choice_reads_as_a_dash(app: Flask) -> None:
    # Regression: its option had no text, and the select2 widget showed "__None"
    region_id = _region(app)
    client = _admin(app)
    page = client.get("/partnerview/add").text
    assert '<option selected value="__None">—</option>' in page
    # and choosing it still means "nobody"
    response = client.post(
        "/partnerview/add", data={**VALID_PARTNER, "region": region_id, "parent": "__None"}
    )
    assert response.status_code == 302, unescape(response.get_data(as_text=True))
    with app.app_context():
        created = db.session.scalar(sa.select(Partner).where(Partner.code == "A-NEW-01"))
        assert created is not None and created.parent is None


def test_saving_a_form_names_the_record_in_the_flash(app: Flask) -> None:
    # Regression: FAB flashed «Добавлено строк» / «Изменено строк», naming nothing
    client = login(app, Role.ADMIN)  # Russian, the default
    region_id = _region(app)
    added = client.post(
        "/partnerview/add",
        data={**VALID_PARTNER, "name": "Ромашка <b>", "region": region_id},
        follow_redirects=True,
    )
    html = added.get_data(as_text=True)
    assert "Добавлено: A-NEW-01 · Ромашка &lt;b&gt;" in html  # named, and escaped
    assert "Добавлено строк" not in html
    partner_id = _partners(app)[0].id
    changed = client.post(
        f"/partnerview/edit/{partner_id}",
        data={**VALID_PARTNER, "name": "Ромашка", "region": region_id},
        follow_redirects=True,
    )
    assert "Сохранено: A-NEW-01 · Ромашка" in changed.get_data(as_text=True)
