"""The UI speaks Russian by default, switches to English, and formats roubles per locale."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask, render_template_string
from flask_appbuilder import ModelView
from flask_babel import LazyString

from server.audit.notes import NOTES, note
from server.demo.commands import load_demo
from server.extensions import db
from server.i18n import format_money
from server.labels import (
    EMPTY,
    actor_label,
    format_day,
    format_moment,
    system_note,
    value_label,
)
from server.ledger.models import AccrualKind
from server.partners.models import Partner, PartnerKind, Region
from server.programs.models import ProgramVersion
from server.security.roles import Role
from tests.support.web import login


def test_menu_in_russian_then_english(app: Flask) -> None:
    client = login(app, Role.MANAGER)
    russian = client.get("/partnerview/list/").get_data(as_text=True)
    assert "Партнёры" in russian and "Начисления" in russian
    client.get("/lang/en")
    english = client.get("/partnerview/list/").get_data(as_text=True)
    assert "Partners" in english and "Accruals" in english
    assert "Начисления" not in english


def test_roubles_are_formatted_per_locale(app: Flask) -> None:
    with app.test_request_context("/?_l_=ru"):
        assert format_money(Decimal("1234567.5")) == "1\xa0234\xa0567,50\xa0₽"
        assert format_money(Decimal("-0.5")) == "-0,50\xa0₽"
    with app.test_request_context("/?_l_=en"):
        assert format_money(Decimal("1234567.5")) == "1,234,567.50\xa0₽"


def test_days_and_instants_are_written_as_the_reader_writes_them(app: Flask) -> None:
    # Russian screens said 2026-06-01; a Russian reader writes 01.06.2026
    at = datetime(2026, 6, 1, 7, 31, tzinfo=UTC)
    with app.test_request_context("/?_l_=ru"):
        assert (format_day(at.date()), format_moment(at)) == ("01.06.2026", "01.06.2026 07:31")
        page = render_template_string("{{ d|day }} · {{ t|moment }} · {{ t|shown }}", d=at, t=at)
        assert page == "01.06.2026 · 01.06.2026 07:31 · 01.06.2026 07:31 UTC"
    with app.test_request_context("/?_l_=en"):
        assert (format_day(at.date()), format_moment(at)) == ("2026-06-01", "2026-06-01 07:31")


def test_model_pages_are_titled_in_the_users_language(app: Flask) -> None:
    # Regression: Flask-AppBuilder's own titles ("List Partner", "Add Partner") and its
    # "Add"/"Detail" stayed English on Russian pages
    with app.app_context():
        region = Region(code="A", name_ru="Центр", name_en="Centre")
        partner = Partner(code="P-1", name="P", kind=PartnerKind.ambassador, region=region)
        db.session.add(partner)
        db.session.commit()
        pk = partner.id
    client = login(app, Role.MANAGER)
    pages = {
        "/partnerview/list/": ("Партнёры", "Partners"),
        f"/partnerview/show/{pk}": ("Партнёры: запись", "Partners: record"),
        "/partnerview/add": ("Партнёры: новая запись", "Partners: new record"),
        f"/partnerview/edit/{pk}": ("Партнёры: изменение", "Partners: editing"),
    }
    for url, (russian, _english) in pages.items():
        text = client.get(url).get_data(as_text=True)
        assert f'<h4 class="panel-title">{russian}</h4>' in _squeezed(text), url
        assert "List Partner" not in text and "Show Partner" not in text
    record = _squeezed(client.get(f"/partnerview/show/{pk}").get_data(as_text=True))
    assert "Подробно" in record
    # stored values in words, empty ones as a dash (they showed as "ambassador", "None")
    assert "амбассадор" in record and "ambassador" not in record
    assert ">None<" not in record and ">—<" in record
    assert "<td>амбассадор</td>" in _squeezed(client.get("/partnerview/list/").text)
    assert "<td>A · Центр</td>" in _squeezed(client.get("/partnerview/list/").text)
    client.get("/lang/en")
    for url, (_russian, english) in pages.items():
        text = client.get(url).get_data(as_text=True)
        assert f'<h4 class="panel-title">{english}</h4>' in _squeezed(text), url
    # regions by their English name in English (they kept the Russian one)
    assert "<td>A · Centre</td>" in _squeezed(client.get("/partnerview/list/").text)


def _squeezed(html: str) -> str:
    """The page with the whitespace around tags' text taken out."""
    return re.sub(r">\s+", ">", re.sub(r"\s+<", "<", html))


def test_every_column_our_screens_show_has_a_translated_label(app: Flask) -> None:
    # Regression: unlabelled columns showed Flask-AppBuilder's English from the column's
    # name ("Created At", "Note", "Rules") on Russian pages
    unlabelled = {}
    for view in app.extensions["appbuilder"].baseviews:
        if not isinstance(view, ModelView) or not type(view).__module__.startswith("server."):
            continue
        shown = {*view.list_columns, *view.show_columns, *view.search_columns}
        missing = sorted(
            column
            for column in shown
            if not isinstance(view.label_columns.get(column), LazyString)
            and any(ch.isalpha() for ch in str(view.label_columns.get(column, column)))
        )
        if missing:
            unlabelled[type(view).__name__] = missing
    assert unlabelled == {}


def test_refusals_are_pages_in_the_users_language_and_json_on_the_api(app: Flask) -> None:
    # Regression: a 403 or 404 was Werkzeug's English page outside the app's layout
    client = login(app, Role.MANAGER)
    missing = client.get("/partnerview/show/999999")
    denied = client.get("/portal/")
    nowhere = client.get("/no-such-page")
    for response, status, text in (
        (missing, 404, "Не найдено"),
        (denied, 403, "Доступ запрещён"),
        (nowhere, 404, "Не найдено"),
    ):
        assert response.status_code == status
        page = response.get_data(as_text=True)
        assert f'data-status="{status}"' in page and text in page
        assert "appbuilder/js/ab.js" in page  # the app's layout, with its menu
    client.get("/lang/en")
    assert "Access denied" in client.get("/portal/").get_data(as_text=True)
    api = client.get("/api/v1/no-such-endpoint")
    assert api.status_code == 404 and 'data-status="' not in api.get_data(as_text=True)


def test_the_user_screens_speak_the_users_language_too(app: Flask) -> None:
    # Flask-AppBuilder's own screens showed "True", "Email", a hard-coded "Cancel" in
    # every page's confirmation dialog, and its catalogue's typos ("Отобажения/меню")
    client = login(app, Role.ADMIN, username="a")
    with app.app_context():
        user_id = app.extensions["appbuilder"].sm.find_user(username="a").id
    record = _squeezed(client.get(f"/users/show/{user_id}").text)
    assert '<span style="white-space: pre-line">да</span>' in record
    assert ">True<" not in record and ">Эл. почта<" in record
    assert 'data-dismiss="modal">Отмена</button>' in record
    assert "Разделы и меню" in record and "Отобажения" not in record
    client.get("/lang/en")
    record = _squeezed(client.get(f"/users/show/{user_id}").text)
    assert '<span style="white-space: pre-line">yes</span>' in record
    assert 'data-dismiss="modal">Cancel</button>' in record


def test_notes_the_system_wrote_read_in_the_users_language(app: Flask) -> None:
    # Regression: Russian pages showed "campaign winter-c", "Demo program" as stored
    with app.test_request_context("/?_l_=ru"):
        assert system_note("campaign winter-c") == "кампания winter-c"
        assert system_note("v1 → v2: rollback to v1") == "v1 → v2: откат к v1"
        assert system_note("v2 → v3: checked the receipt") == "v2 → v3: checked the receipt"
        assert system_note("rule c-1 added for campaign winter-c") == (
            "правило c-1 добавлено для кампании winter-c"
        )
        assert system_note("checked the receipt") == "checked the receipt"
        assert system_note(None) == EMPTY
    with app.test_request_context("/?_l_=en"):
        assert system_note("superseded by v4") == "superseded by v4"


@pytest.mark.parametrize("kind", sorted(NOTES))
def test_every_note_the_system_writes_reads_back_translated(app: Flask, kind: str) -> None:
    stored, phrase = NOTES[kind]
    fields = {name: "x7" for _, name, _, _ in string.Formatter().parse(stored) if name}
    with app.test_request_context("/?_l_=ru"):
        shown = system_note(note(kind, **fields))
        assert shown == str(phrase) % fields
        assert shown != note(kind, **fields)  # Russian, not the stored English


def test_a_version_page_shows_the_demo_note_in_russian(app: Flask) -> None:
    with app.app_context():
        load_demo()
        version_id = db.session.scalars(
            sa.select(ProgramVersion.id).where(ProgramVersion.note == note("demo"))
        ).one()
    client = login(app, Role.ADMIN)
    page = client.get(f"/programversionview/show/{version_id}").get_data(as_text=True)
    assert "Демо-программа" in page and "Demo program" not in page
    # the rules are its tab, in plain words; no "a-online (percent_of_sale)" list
    assert "(percent_of_sale)" not in page and "Процент с продаж (CPS)" in page


def test_points_the_kind_and_points_the_count(app: Flask) -> None:
    # Regression: the kind "points" read «баллов», the count's genitive
    with app.test_request_context("/?_l_=ru"):
        assert value_label(AccrualKind.points) == "баллы"
        counts = "{{ ngettext('%(num)s point', '%(num)s points', n) }}"
        assert [render_template_string(counts, n=n) for n in (1, 3, 5, 21)] == [
            "1 балл",
            "3 балла",
            "5 баллов",
            "21 балл",
        ]
    with app.test_request_context("/?_l_=en"):
        assert render_template_string(counts, n=1) == "1 point"


def test_the_system_as_an_actor_is_a_word(app: Flask) -> None:
    with app.test_request_context("/?_l_=ru"):
        assert actor_label("system") == "система"
        assert actor_label("Иван Петров") == "Иван Петров"
        assert actor_label(None) == EMPTY
