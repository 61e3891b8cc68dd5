"""«Новая программа» in the workspace: the form in Russian, a POST that creates the
program and opens its draft in the rule builder, and bad input answered 400 with the
form shown again and the reason beside the field (never a 500)."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.programs.models import Program, ProgramVersion
from server.programs.starters import PROGRAM_STARTERS
from server.security.roles import Role
from tests.integration.workspace.helpers import load_basic
from tests.support.web import login


def _programs() -> list[str]:
    return list(db.session.scalars(sa.select(Program.slug).order_by(Program.slug)))


def test_the_form_lists_the_starters_and_the_programs_to_copy(ws_app: Flask) -> None:
    with ws_app.app_context():
        load_basic()
    client = login(ws_app, Role.MANAGER, username="mira")
    index = client.get("/workspace/")
    assert 'id="pf-new-program-link"' in index.text and "Новая программа" in index.text
    page = client.get("/workspace/new")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for starter in PROGRAM_STARTERS.values():
        assert starter.title_in("ru") in text and starter.describe("ru") in text
    assert '<option value="example-2026"' in text and "Пример программы" in text
    assert 'name="currency" class="form-control" value="RUB"' in text
    assert "Все программы платят в одной валюте: RUB." in text
    assert "там вы выберете участников" in text


def test_creating_from_a_starter_opens_the_draft_in_the_rule_builder(ws_app: Flask) -> None:
    client = login(ws_app, Role.MANAGER, username="mira")
    created = client.post(
        "/workspace/new",
        data={
            "title": "Амбассадоры 2027",
            "slug": "ambassadory-2027",
            "currency": "RUB",
            "start": "starter:ambassadors-goals",
        },
    )
    assert created.status_code == 302
    with ws_app.app_context():
        draft = db.session.scalars(sa.select(ProgramVersion)).one()
        assert draft.program.slug == "ambassadory-2027"
        assert [r.rule_key for r in draft.rules] == ["monthly-goal", "network-override"]
    assert created.headers["Location"].endswith(f"/workspace/version/{draft.id}")
    builder = client.get(created.headers["Location"])
    assert "Программа «Амбассадоры 2027» создана" in html.unescape(builder.text)
    assert 'data-rule="monthly-goal"' in builder.text and 'id="pf-templates"' in builder.text


def test_an_empty_code_is_suggested_from_the_title(ws_app: Flask) -> None:
    client = login(ws_app, Role.MANAGER, username="mira")
    created = client.post(
        "/workspace/new", data={"title": "Щедрая осень", "currency": "RUB", "start": "empty"}
    )
    assert created.status_code == 302
    with ws_app.app_context():
        assert _programs() == ["shchedraya-osen"]


@pytest.mark.parametrize(
    ("form", "field", "reason"),
    [
        ({"slug": "example-2026"}, "slug", "Программа с кодом example-2026 уже есть"),
        ({"slug": "Магазины 2027"}, "slug", "только из строчных латинских букв"),
        ({"currency": "EUR"}, "currency", "существующие программы платят в RUB"),
        ({"currency": "$$$"}, "currency", "трёхбуквенный код"),
        ({"title": ""}, "title", "Введите название программы."),
        ({"start": "starter:nope"}, "start", "Выберите одну из готовых программ."),
        ({"start": "copy", "copy_of": "nope"}, "start", "с хотя бы одной версией"),
    ],
)
def test_bad_input_is_refused_with_the_form_and_the_reason(
    ws_app: Flask, form: dict[str, str], field: str, reason: str
) -> None:
    with ws_app.app_context():
        load_basic()
    client = login(ws_app, Role.MANAGER, username="mira")
    data = {"title": "Магазины", "slug": "stores-2027", "currency": "RUB", "start": "empty"}
    refused = client.post("/workspace/new", data={**data, **form})
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "Программа не создана: исправьте отмеченные ниже поля." in text
    error = text.split(f'data-error-for="{field}">', 1)[1].split("</span>", 1)[0]
    assert reason in error
    # what was typed is shown again
    assert f'value="{({**data, **form})["title"]}"' in text
    with ws_app.app_context():
        assert _programs() == ["example-2026"]


def test_the_copy_keeps_its_choice_when_refused(ws_app: Flask) -> None:
    with ws_app.app_context():
        load_basic()
    client = login(ws_app, Role.MANAGER, username="mira")
    refused = client.post(
        "/workspace/new",
        data={"title": "Копия", "slug": "example-2026", "start": "copy", "copy_of": "example-2026"},
    )
    assert refused.status_code == 400
    assert 'value="copy" checked' in refused.text
    assert '<option value="example-2026" selected>' in refused.text


def test_legal_reads_the_workspace_but_cannot_create(ws_app: Flask) -> None:
    client = login(ws_app, Role.LEGAL, username="lena")
    index = client.get("/workspace/")
    assert index.status_code == 200 and "pf-new-program-link" not in index.text
    for response in (
        client.get("/workspace/new"),
        client.post("/workspace/new", data={"title": "X", "start": "empty"}),
    ):
        assert response.status_code in (302, 403)
    with ws_app.app_context():
        assert _programs() == []


def test_a_post_without_the_csrf_token_is_refused(ws_app: Flask) -> None:
    client = login(ws_app, Role.MANAGER, username="mira")
    ws_app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/workspace/new", data={"title": "X", "start": "empty"})
    finally:
        ws_app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400
    with ws_app.app_context():
        assert _programs() == []
