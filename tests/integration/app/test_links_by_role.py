"""What a role is shown leads somewhere it may go: no menu entry, profile link or button
that answers 403 (found by a crawl of every page as every demo user)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.programs import commands as program_commands
from server.programs.models import ProgramVersion
from server.security.roles import Role
from tests.integration.workspace.helpers import load_basic
from tests.support.web import login

pytestmark = pytest.mark.spec_examples
PASSWORD = "secret-pass-1"


@pytest.fixture
def draft_id(app: Flask) -> int:
    with app.app_context():
        published = load_basic()
        return program_commands.new_draft(published.id, None).id


def test_the_portal_menu_is_shown_to_partners_only(app: Flask, draft_id: int) -> None:
    with app.app_context():
        partner_code = db.session.scalar(sa.text("select code from partners order by id limit 1"))
    admin = login(app, Role.ADMIN).get("/").text
    assert "/portal/" not in admin and "/partnerview/list/" in admin
    partner = login(app, Role.PARTNER, partner_code)
    assert "/portal/" in partner.get("/portal/").text


@pytest.mark.parametrize("role", [Role.PARTNER, Role.INTEGRATION])
def test_every_login_opens_its_own_profile(app: Flask, draft_id: int, role: Role) -> None:
    with app.app_context():
        partner_code = db.session.scalar(sa.text("select code from partners order by id limit 1"))
    client = login(
        app, role, partner_code if role is Role.PARTNER else None, username=f"u-{role.value}"
    )
    page = client.get("/users/userinfo/")
    assert page.status_code == 200 and "u-" + role.value in page.text


def test_an_integration_login_sees_no_figures_and_no_dead_links(app: Flask, draft_id: int) -> None:
    page = login(app, Role.INTEGRATION).get("/")
    assert page.status_code == 200 and 'id="welcome"' in page.text
    assert "/dashboard/" not in page.text and 'data-kpi="' not in page.text


def test_legal_reads_programs_without_the_editing_controls(app: Flask, draft_id: int) -> None:
    legal = login(app, Role.LEGAL)
    assert legal.get("/programview/list/").status_code == 200
    page = legal.get(f"/workspace/version/{draft_id}")
    assert page.status_code == 200 and 'id="pf-rules"' in page.text
    for control in ("/rule?", "pf-new-draft", "pf-publish", "pf-backtest", "Save YAML"):
        assert control not in page.text, control
    manager = login(app, Role.MANAGER).get(f"/workspace/version/{draft_id}").text
    for control in ("/rule?", "pf-publish", "pf-backtest"):
        assert control in manager, control
    with app.app_context():
        assert db.session.get(ProgramVersion, draft_id) is not None
    rules_tab = legal.get(f"/programversionview/show/{draft_id}").text
    assert "List Rule Instance" not in rules_tab and "Правила" in rules_tab
