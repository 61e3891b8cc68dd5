"""Two managers work at the same time in Chromium, in Russian, each in a browser of
their own: Мира edits the demo program, Лена edits the store network's program and
composes a campaign for the demo program while Мира's draft is open. Nobody's draft
is forked or lost: the campaign's rules go to a program of its own, the demo program
keeps one draft (Мира's, with her rule), Лена is shown that draft instead of a button
that would start a second one, and each publishes their own rule.
Screenshots: ``test-artifacts/two-managers-*.png``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Browser, Page

from server.campaigns.models import Campaign
from server.extensions import db
from server.programs import commands as program_commands
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.security.commands import NewUser, create_user
from server.security.roles import Role
from server.workflows.definitions import import_definition_files
from tests.browser.conftest import log_in, screenshot
from tests.integration.documents.conftest import make_world
from tests.integration.workflows.conftest import REPO, wf_app  # noqa: F401  (a fixture)
from tests.support.web import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def programs(wf_app: Flask) -> Iterator[dict[str, int]]:  # noqa: F811
    """The demo program (published v1), a store network's program from its starter
    (published v1), the seed workflows and two managers; each program's v1 id."""
    with wf_app.app_context():
        make_world()
        import_definition_files(REPO / "workflows")
        for username, first in (("mira", "Мира"), ("lena", "Лена")):
            create_user(
                NewUser(username, PASSWORD, Role.MANAGER, first, "Менеджер", f"{username}@x.test")
            )
        stores = program_commands.create_program(
            program_commands.NewProgram(
                "Сетка баллов магазинов",
                slug="stores",
                start=program_commands.START_STARTER,
                starter="store-points",
            ),
            None,
        )
        program_commands.publish_version(stores.id, date(2026, 1, 1), None)
        demo = db.session.scalars(
            sa.select(ProgramVersion).where(ProgramVersion.program_id != stores.program_id)
        ).one()
        yield {"demo": demo.id, "stores": stores.id}


def _drafts(app: Flask) -> dict[str, list[tuple[int, set[str]]]]:
    """Each program's open drafts: (number, rule keys)."""
    with app.app_context():
        db.session.expire_all()
        out: dict[str, list[tuple[int, set[str]]]] = {}
        for program in db.session.scalars(sa.select(Program)):
            out[program.slug] = [
                (v.number, {r.rule_key for r in v.rules})
                for v in program.versions
                if v.status is VersionStatus.draft
            ]
        return out


def _add_tiers_rule(page: Page, rule_id: str, rate: str) -> None:
    """In the open draft: a two-step tiered rule, saved through the rule builder."""
    page.click('a[data-rule-template="tiered_percent"]')
    page.fill("input[name=rule_id]", rule_id)
    page.fill('input[name="p.tiers.0.from"]', "0")
    page.fill('input[name="p.tiers.0.rate"]', rate)
    page.click("#pf-save-rule")
    page.locator(f"#pf-rules tr[data-rule='{rule_id}']").wait_for()


def _open_new_draft(page: Page, live_server: str, version_id: int) -> None:
    page.goto(f"{live_server}/workspace/version/{version_id}")
    with page.expect_navigation():
        page.click("#pf-new-draft")
    page.locator("#pf-version-status").filter(has_text="черновик").wait_for()


def test_two_managers_edit_programs_and_compose_a_campaign_at_once(
    wf_app: Flask,  # noqa: F811
    live_server: str,
    browser: Browser,
    programs: dict[str, int],
) -> None:
    app = wf_app
    contexts = [
        browser.new_context(viewport={"width": 1366, "height": 900}, locale="ru-RU")
        for _ in range(2)
    ]
    mira, lena = (context.new_page() for context in contexts)
    script_errors: list[str] = []
    for page in (mira, lena):
        page.on("pageerror", lambda error: script_errors.append(str(error)))
    try:
        log_in(mira, live_server, "mira", PASSWORD)
        log_in(lena, live_server, "lena", PASSWORD)

        # both open a draft of a different program, and each adds a rule
        _open_new_draft(mira, live_server, programs["demo"])
        _open_new_draft(lena, live_server, programs["stores"])
        _add_tiers_rule(mira, "mira-tiers", "6")
        _add_tiers_rule(lena, "lena-tiers", "3")
        drafts = _drafts(app)
        assert [keys for _, keys in drafts["stores"]] == [
            {"store-points", "store-tiers", "lena-tiers"}
        ]
        [(mira_number, mira_keys)] = drafts["regional-2026"]
        assert "mira-tiers" in mira_keys

        # Лена composes a campaign for the demo program while Мира's draft is open
        with app.app_context():
            demo_title = db.session.get(ProgramVersion, programs["demo"]).program.title
        lena.goto(f"{live_server}/campaign-workspace/")
        form = lena.locator("#pf-compose")
        form.locator("select[name=kind]").select_option("promo_push")
        form.locator("select[name=program_id]").select_option(label=demo_title)
        form.locator("input[name=title]").fill("Зимние промокоды")
        form.locator("input[name=slug]").fill("winter-push")
        form.locator("input[name=starts_on]").fill("2026-12-10")
        form.locator("input[name=ends_on]").fill("2026-12-31")
        form.locator("input[name=rate]").fill("4")
        form.locator("input[name=budget]").fill("30 000")
        with lena.expect_navigation():
            form.locator("#pf-compose-submit").click()
        created = " ".join(lena.locator(".alert-success").inner_text().split())
        assert "в отдельной опубликованной программе" in created, created
        screenshot(lena, "two-managers-01-campaign")

        # Мира's draft is untouched: still the only draft of its program, her rule in it
        drafts = _drafts(app)
        assert drafts["regional-2026"] == [(mira_number, mira_keys)]
        assert drafts["campaign-winter-push"] == []  # published at once, no draft
        with app.app_context():
            campaign = db.session.scalars(sa.select(Campaign)).one()
            assert campaign.rules_program_id is not None

        # Лена opens the demo program: she is led to Мира's draft, not to a second one
        lena.goto(f"{live_server}/workspace/version/{programs['demo']}")
        notice = " ".join(lena.locator("#pf-open-draft").inner_text().split())
        assert notice.startswith(
            f"У программы уже открыт черновик v{mira_number} (автор — Мира Менеджер)."
        ), notice
        assert lena.locator("#pf-new-draft").count() == 0
        screenshot(lena, "two-managers-02-draft-is-open")
        with lena.expect_navigation():
            lena.locator("#pf-open-draft a").click()
        assert "mira-tiers" in lena.locator("#pf-rules").inner_text()

        # each publishes their own draft; nothing of the other's is lost
        [stores_draft] = [pk for slug, pk in _draft_ids(app) if slug == "stores"]
        lena.goto(f"{live_server}/workspace/version/{stores_draft}")
        mira.reload()  # her draft's page, where she left it
        for page in (mira, lena):
            page.fill("#pf-publish input[name=effective_from]", "2027-01-01")
            page.click("#pf-publish button[type=submit]")
            page.locator("#pf-version-status").filter(has_text="опубликован").wait_for()
        screenshot(mira, "two-managers-03-published")
        assert _drafts(app) == {"regional-2026": [], "stores": [], "campaign-winter-push": []}
        with app.app_context():
            published = {
                v.program.slug: {r.rule_key for r in v.rules}
                for v in db.session.scalars(
                    sa.select(ProgramVersion).where(
                        ProgramVersion.effective_from == date(2027, 1, 1)
                    )
                )
            }
        assert "mira-tiers" in published["regional-2026"]
        assert "lena-tiers" in published["stores"]
        assert script_errors == []
    finally:
        for context in contexts:
            context.close()


def _draft_ids(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        return [
            (v.program.slug, v.id)
            for v in db.session.scalars(
                sa.select(ProgramVersion).where(ProgramVersion.status == VersionStatus.draft)
            )
        ]
