"""A manager starts a second program in Chromium, in Russian, and chooses who takes
part: offline points of region A by selector and one ambassador by name; adds a points
rule and a goal, publishes. Events through the API then pay in both programs, the
second only its partners, and the first program's accruals are what they were alone.
Screenshots: ``test-artifacts/enrolment-ru*.png`` (the editor is copied to
``docs/img/enrolment-ru.png``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page

from server.extensions import db
from server.partners.models import Partner
from server.programs import commands as program_commands
from server.programs.models import Program, VersionStatus
from server.rules.evaluator import Evaluator
from server.rules.output import outcome_to_json
from server.rules.partners import load_partners_file
from server.rules.program import load_program_file, load_program_yaml
from server.rules.sorting import sorted_events
from server.security.api_keys import create_api_key
from server.security.roles import Role
from tests.browser.conftest import log_in, screenshot
from tests.integration.ledger.helpers import expected, exported, post, raw_batch, run_worker
from tests.integration.workspace.conftest import ws_app  # noqa: F401
from tests.integration.workspace.helpers import BASIC, load_basic
from tests.support.web import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.spec_examples]

TITLE = "Новая программа"
AMBASSADOR = "Анна Смирнова"


def _simulate(second_yaml: str, tmp_path: Path) -> list[dict[str, Any]]:
    """``simulate --program basic --program <the second one's export>`` over the events."""
    second = tmp_path / "second.yaml"
    second.write_text(second_yaml)
    evaluator = Evaluator(
        [load_program_file(BASIC / "program.yaml"), load_program_file(second)],
        load_partners_file(BASIC / "partners.yaml"),
    )
    return [
        outcome_to_json(o, with_program=True)
        for o in evaluator.run(sorted_events(BASIC / "events.jsonl"))
    ]


def test_a_manager_enrols_partners_in_a_second_program_and_both_pay(
    ws_app: Flask,  # noqa: F811
    live_server: str,
    page: Page,
    tmp_path: Path,
) -> None:
    from server.security.commands import NewUser, create_user

    app = ws_app
    with app.app_context():
        load_basic()
        amb = db.session.scalar(sa.select(Partner).where(Partner.code == "AMB-1"))
        assert amb is not None
        amb.name = AMBASSADOR
        db.session.commit()
        create_user(NewUser("mira", PASSWORD, Role.MANAGER, "Mira", "Manager", "mira@x.test"))
        key = create_api_key("shop", "shop").key
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    log_in(page, live_server, "mira", PASSWORD)

    # a new program from nothing
    page.goto(f"{live_server}/workspace/new")
    page.fill("#pf-title", TITLE)
    page.fill("#pf-slug", "novaya-2026")
    with page.expect_navigation():
        page.click("#pf-create-program")
    assert "/workspace/version/" in page.url
    draft_url = page.url

    # who takes part: offline points of region A, and the ambassador by name
    editor = page.locator("#pf-enrolment")
    assert "Кто участвует" in page.locator("#pf-enrolment-title").inner_text()
    assert page.locator("#pf-enrolment-words").inner_text().startswith("все партнёры")
    assert page.locator("#pf-enrolment-partner_types option").all_inner_texts() == [
        "Онлайн-партнёры",
        "Офлайн-точки",
        "Амбассадоры",
        "Кофакторы",
    ]
    page.select_option("#pf-enrolment-regions", ["A"])
    page.select_option("#pf-enrolment-partner_types", label=["Офлайн-точки"])
    page.select_option("#pf-enrolment-partners", label=[f"{AMBASSADOR} (AMB-1)"])
    screenshot(page, "enrolment-ru-editor")
    with page.expect_navigation():
        editor.locator("button[type=submit]").click()
    page.locator(".alert-success", has_text="Состав участников сохранён").wait_for()
    words = page.locator("#pf-enrolment-words").inner_text()
    assert "регионы: A; виды: офлайн-точки; партнёры поимённо: AMB-1" in words
    assert "сейчас участвуют 2 партнёра" in words
    # the pickers show what is saved
    assert page.locator("#pf-enrolment-partners option:checked").all_inner_texts() == [
        f"{AMBASSADOR} (AMB-1)"
    ]

    # a points rule
    with page.expect_navigation():
        page.click('a[data-rule-template="points_per_amount"]')
    page.fill("input[name=rule_id]", "points")
    page.fill('input[name="p.per"]', "1000")
    page.fill('input[name="p.points"]', "1")
    with page.expect_navigation():
        page.click("#pf-save-rule")
    # a goal: two sales in a month pay 500
    with page.expect_navigation():
        page.click('a[data-rule-template="goal_bonus"]')
    page.fill("input[name=rule_id]", "goal")
    page.select_option('select[name="p.metric"]', "sales_count")
    page.fill('input[name="p.threshold"]', "2")
    page.fill('input[name="p.amount"]', "500")
    with page.expect_navigation():
        page.click("#pf-save-rule")
    assert page.url == draft_url
    assert page.locator("#pf-rules tr[data-rule]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-rule'))"
    ) == ["points", "goal"]

    page.fill("#pf-publish input[name=effective_from]", "2026-03-01")
    page.click("#pf-publish button[type=submit]")
    page.locator("#pf-version-status").filter(has_text="опубликован").wait_for()
    screenshot(page, "enrolment-ru-published")

    with app.app_context():
        program = db.session.scalar(sa.select(Program).where(Program.slug == "novaya-2026"))
        assert program is not None and program.title == TITLE
        version = program.versions[0]
        assert version.status is VersionStatus.published
        assert version.enrolment == {
            "regions": ["A"],
            "partner_types": ["offline_point"],
            "partners": ["AMB-1"],
        }
        second_yaml = program_commands.export_yaml(version)
        program_id = program.id
    assert load_program_yaml(second_yaml).enrolment.partners == ("AMB-1",)

    # events through the API pay in both programs
    client = app.test_client()
    assert post(client, key, raw_batch(BASIC)).status_code == 200
    run_worker(app)
    lines = exported(app)
    assert lines == _simulate(second_yaml, tmp_path)
    second = [line for line in lines if line.get("program") == "novaya-2026"]
    assert {line["partner"] for line in second} == {"AMB-1", "SHOP-1"}
    assert {line["rule"] for line in second} == {"points", "goal"}
    # the first program's accruals are what they were with it alone
    first = [
        {k: v for k, v in line.items() if k != "program"}
        for line in lines
        if line.get("program") != "novaya-2026"
    ]
    assert first == expected(BASIC)

    # the program page lists its partners with counts; the partner page its programs
    page.goto(f"{live_server}/workspace/program/{program_id}")
    assert page.locator("#pf-program-partner-count").inner_text() == "2"
    table = page.locator("#pf-program-partners-table")
    assert table.locator("tr[data-partner]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-partner'))"
    ) == ["AMB-1", "SHOP-1"]
    assert AMBASSADOR in table.inner_text() and "01.03.2026" in table.inner_text()
    by_type = page.locator("#pf-program-by-type").inner_text()
    assert "Амбассадоры" in by_type and "Офлайн-точки" in by_type
    screenshot(page, "enrolment-ru-program")
    with app.app_context():
        amb_id = db.session.scalar(sa.select(Partner.id).where(Partner.code == "AMB-1"))
    page.goto(f"{live_server}/partnerview/show/{amb_id}")
    programs = page.locator("#pf-partner-programs").inner_text()
    assert TITLE in programs and "Пример программы" in programs
    assert script_errors == []
