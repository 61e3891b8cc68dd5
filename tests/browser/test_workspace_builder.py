"""A manager composes a two-tier rule in Chromium, reads it in plain words, backtests the
draft on stored events with a real worker, and publishes it; an invalid tier is refused
inline and nothing is saved. Screenshots of each step go to ``test-artifacts/``."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page

from server.extensions import db
from server.programs import commands as program_commands
from server.programs.models import ProgramVersion, VersionStatus
from server.security.roles import Role
from tests.browser.conftest import log_in, screenshot
from tests.integration.workspace.conftest import ws_app  # noqa: F401
from tests.integration.workspace.helpers import (
    basic_events,
    load_basic,
    run_worker,
    store_events,
)
from tests.support.web import PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.spec_examples,
]


def _user(app: Flask) -> str:
    from server.security.commands import NewUser, create_user

    with app.app_context():
        create_user(NewUser("mira", PASSWORD, Role.MANAGER, "Mira", "Manager", "mira@x.test"))
    return "mira"


def test_compose_tiers_backtest_publish(ws_app: Flask, live_server: str, page: Page) -> None:  # noqa: F811
    app = ws_app
    with app.app_context():
        v1 = load_basic()
        store_events(basic_events())
        draft_id = program_commands.new_draft(v1.id, None).id
    username = _user(app)
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    log_in(page, live_server, username, PASSWORD)
    page.goto(f"{live_server}/workspace/version/{draft_id}")
    screenshot(page, "workspace-01-draft")
    # Regression: FAB's tooltips on every link read `data-template` as their template
    # option: «tooltip template option must consist of exactly 1 top-level element!»
    assert script_errors == []
    page.click('a[data-rule-template="tiered_percent"]')
    page.fill("input[name=rule_id]", "tiers-b")
    page.fill('input[name="p.tiers.0.from"]', "0")
    page.fill('input[name="p.tiers.0.rate"]', "4")
    page.click(".pf-add-row")
    page.fill('input[name="p.tiers.1.from"]', "20000")
    page.fill('input[name="p.tiers.1.rate"]', "8")
    page.check('input[name="scope.regions"][value="B"]')
    sentence = page.locator("#pf-sentence")
    sentence.filter(has_text="8 % от 20").wait_for()
    assert "в регионе B" in sentence.inner_text()
    screenshot(page, "workspace-02-tiers-sentence")

    # an invalid rate: the inline error appears live and on save, nothing is stored
    page.fill('input[name="p.tiers.1.rate"]', "восемь")
    page.locator('[data-error-for="tiers"]').filter(has_text="Ступени").wait_for()
    page.click("#pf-save-rule")
    page.locator('[data-error-for="tiers"]').filter(has_text="Ступени").wait_for()
    screenshot(page, "workspace-03-inline-error")
    with app.app_context():
        keys = [r.rule_key for r in db.session.get(ProgramVersion, draft_id).rules]
        assert "tiers-b" not in keys

    page.fill('input[name="p.tiers.1.rate"]', "8")
    page.click("#pf-save-rule")
    page.locator("#pf-rules tr[data-rule='tiers-b']").wait_for()
    screenshot(page, "workspace-04-rule-saved")

    page.fill("#pf-backtest input[name=start]", "2026-03-01")
    page.fill("#pf-backtest input[name=end]", "2026-03-31")
    page.click("#pf-backtest button[type=submit]")
    page.locator("#pf-backtest-progress").wait_for()
    # The progress bar shows as the request leaves; run the worker once the job is queued.
    from server.queues import get_queue
    from server.tasks.backtest import BACKTEST_QUEUE

    deadline = time.monotonic() + 15
    while get_queue(BACKTEST_QUEUE, app).count == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    run_worker(app)
    page.locator("#pf-backtest-summary").wait_for(timeout=15_000)
    summary = page.locator("#pf-backtest-summary").inner_text()
    assert "12" in summary
    # Regression: totals read `1272407.14 RUB`, and points showed only in the CSV
    assert re.search(r"Черновик: [\d\s\xa0]+,\d\d\xa0₽ и баллов: \d+", summary), summary
    assert "RUB" not in summary
    assert page.locator(".pf-backtest-partners th", has_text="Баллы").count() == 1
    screenshot(page, "workspace-05-backtest")

    page.fill("#pf-publish input[name=effective_from]", "2026-04-01")
    page.click("#pf-publish button[type=submit]")
    page.locator("#pf-version-status").filter(has_text="опубликован").wait_for()
    screenshot(page, "workspace-06-published")
    with app.app_context():
        version = db.session.get(ProgramVersion, draft_id)
        assert version.status is VersionStatus.published
        assert version.effective_from == date(2026, 4, 1)
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(ProgramVersion)
                .where(ProgramVersion.status == VersionStatus.published)
            )
            == 2
        )


def test_a_fresh_rule_form_opens_without_errors(
    ws_app: Flask,  # noqa: F811
    live_server: str,
    page: Page,
) -> None:
    # Regression: the live check on load put "parameter not set" under every empty field
    # of a template without defaults (campaign_bonus) before anything was typed
    with ws_app.app_context():
        draft_id = program_commands.new_draft(load_basic().id, None).id
    log_in(page, live_server, _user(ws_app), PASSWORD)
    page.goto(f"{live_server}/workspace/version/{draft_id}/rule?template=campaign_bonus")
    page.wait_for_load_state("networkidle")
    time.sleep(0.5)  # the live check is debounced by 250 ms
    page.wait_for_load_state("networkidle")
    errors = page.locator(".pf-error").all_inner_texts()
    assert [text for text in errors if text.strip()] == []
    page.fill('input[name="p.rate"]', "много")
    page.locator('[data-error-for="rate"]').filter(has_text="Ставка бонуса").wait_for()
    assert page.locator('[data-error-for="campaign"]').inner_text().strip() == ""
