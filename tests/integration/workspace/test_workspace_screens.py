"""Workspace screens: builder, inline errors, live sentence, publish, diff, YAML, campaigns."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa
from flask import Flask

from server.extensions import db
from server.programs import commands as program_commands
from server.programs.models import ProgramVersion, VersionStatus
from server.security.roles import Role
from tests.integration.workspace.helpers import BASIC, load_basic
from tests.support.web import login

pytestmark = pytest.mark.spec_examples

TIERS = {
    "template": "tiered_percent",
    "rule_id": "tiers-a",
    "p.tiers.0.from": "0",
    "p.tiers.0.rate": "3",
    "p.tiers.1.from": "10000",
    "p.tiers.1.rate": "6",
    "scope.regions": "A",
}


def _draft(app: Flask) -> int:
    with app.app_context():
        v1 = load_basic()
        return program_commands.new_draft(v1.id, None).id


def test_builder_saves_a_two_tier_rule_and_refuses_an_invalid_one(ws_app: Flask) -> None:
    draft_id = _draft(ws_app)
    client = login(ws_app, Role.ADMIN, username="boss")
    page = client.get(f"/workspace/version/{draft_id}/rule?template=tiered_percent")
    assert page.status_code == 200 and 'name="p.tiers.0.from"' in page.text
    live = client.post("/workspace/describe", data={**TIERS, "lang": "en"}).get_json()
    assert live == {
        "sentence": "A percentage of sales in region A by the partner's month-to-date sales: "
        "3 % from 0; 6 % from 10,000",
        "errors": {},
    }
    ru = client.post("/workspace/describe", data={**TIERS, "lang": "ru"}).get_json()
    assert ru["sentence"].startswith("Процент с продаж в регионе A")
    bad = {**TIERS, "p.tiers.1.rate": "шесть"}
    live_bad = client.post("/workspace/describe", data={**bad, "lang": "ru"}).get_json()
    assert live_bad["sentence"] is None and "tiers" in live_bad["errors"]
    refused = client.post(f"/workspace/version/{draft_id}/rule", data=bad)
    assert refused.status_code == 400
    assert 'data-error-for="tiers"' in refused.text and "Ступени" in refused.text
    with ws_app.app_context():
        rules = db.session.get(ProgramVersion, draft_id).rules
        assert "tiers-a" not in [r.rule_key for r in rules]
    saved = client.post(f"/workspace/version/{draft_id}/rule", data=TIERS)
    assert saved.status_code == 302
    shown = client.get(f"/workspace/version/{draft_id}")
    assert "tiers-a" in shown.text and "6 % от 10" in shown.text
    published = client.post(
        f"/workspace/version/{draft_id}/publish", data={"effective_from": "2026-04-01"}
    )
    assert published.status_code == 302
    with ws_app.app_context():
        assert db.session.get(ProgramVersion, draft_id).status is VersionStatus.published
        first = db.session.scalar(sa.select(ProgramVersion).where(ProgramVersion.number == 1))
        first_id = first.id
    diff = client.get(f"/workspace/diff?a={first_id}&b={draft_id}")
    assert diff.status_code == 200 and "tiers-a" in diff.text
    exported = client.get(f"/workspace/version/{draft_id}/export.yaml")
    assert "tiers-a" in exported.text and exported.mimetype == "application/x-yaml"
    listing = client.get("/workspace/")
    assert listing.status_code == 200 and "v2" in listing.text


def test_yaml_view_and_import(ws_app: Flask) -> None:
    draft_id = _draft(ws_app)
    client = login(ws_app, Role.ADMIN, username="boss")
    text = (BASIC / "program.yaml").read_text()
    bad = client.post(
        f"/workspace/version/{draft_id}/yaml", data={"yaml": text.replace('"5"', "-5")}
    )
    assert bad.status_code == 302
    assert "online-5" in client.get(f"/workspace/version/{draft_id}").text
    with ws_app.app_context():
        rules = db.session.get(ProgramVersion, draft_id).rules
        assert rules[0].params == {"rate": "5"}
    # a second draft beside the open v2 is refused with the reason; after v2 is
    # discarded the import makes v3
    refused = client.post(
        "/workspace/import", data={"yaml": text.replace('"5"', '"8"')}, follow_redirects=True
    )
    assert "уже есть черновик v2" in html.unescape(refused.text)
    with ws_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ProgramVersion.id))) == 2
        program_commands.archive_draft(draft_id, None)
    imported = client.post("/workspace/import", data={"yaml": text.replace('"5"', '"8"')})
    assert imported.status_code == 302
    with ws_app.app_context():
        latest = db.session.scalar(
            sa.select(ProgramVersion).order_by(ProgramVersion.number.desc()).limit(1)
        )
        assert latest.number == 3 and latest.rules[0].params == {"rate": "8"}


def test_a_refused_import_says_why_in_the_users_language(ws_app: Flask) -> None:
    # The program checks spoke English on Russian pages ("unknown template ...")
    _draft(ws_app)
    client = login(ws_app, Role.ADMIN, username="boss")
    text = (BASIC / "program.yaml").read_text()
    broken = text.replace("percent_of_sale", "percent_of_sales", 1).replace(
        "currency: RUB", "currency: roubles"
    )
    assert broken != text
    client.get("/lang/ru")
    client.post("/workspace/import", data={"yaml": broken})
    page = html.unescape(client.get("/workspace/").text)
    assert "неизвестный шаблон 'percent_of_sales'" in page
    assert "currency: нет или не трёхбуквенный код вида RUB" in page
    assert "unknown template" not in page
    client.get("/lang/en")
    client.post("/workspace/import", data={"yaml": "rules: [1"})
    page = html.unescape(client.get("/workspace/").text)
    assert "program file: invalid YAML" in page and "ошибка" not in page


def test_campaign_compose_screen(ws_app: Flask) -> None:
    _draft(ws_app)
    client = login(ws_app, Role.ADMIN, username="boss")
    with ws_app.app_context():
        program_id = db.session.scalar(sa.text("select id from programs"))
    response = client.post(
        "/campaign-workspace/compose",
        data={
            "kind": "seasonal",
            "title": "Осень",
            "slug": "autumn",
            "program_id": str(program_id),
            "starts_on": "2026-09-01",
            "ends_on": "2026-11-30",
            "budget": "50 000",
            "rate": "2,5",
            "regions": ["A", "B"],
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Осень" in page.text
    listing = client.get("/campaign-workspace/")
    assert "autumn" in listing.text


def test_a_rule_whose_dates_are_reversed_comes_back_with_its_dates_and_a_reason(
    ws_app: Flask,
) -> None:
    # Regression: the dates came back as lists (empty date inputs) and the reason was the
    # engine's English sentence
    draft_id = _draft(ws_app)
    client = login(ws_app, Role.ADMIN, username="boss")
    dates = {"scope.valid_from": "2026-12-31", "scope.valid_to": "2026-01-01"}
    refused = client.post(f"/workspace/version/{draft_id}/rule", data={**TIERS, **dates})
    assert refused.status_code == 400
    assert 'name="scope.valid_from" class="form-control" value="2026-12-31"' in refused.text
    assert 'name="scope.valid_to" class="form-control" value="2026-01-01"' in refused.text
    assert "«Действует с» позже, чем «Действует по»." in refused.text
    live = client.post("/workspace/describe", data={**TIERS, **dates, "lang": "en"}).get_json()
    assert live["errors"] == {"scope": "'Valid from' is after 'Valid to'."}
    saved = client.post(
        f"/workspace/version/{draft_id}/rule",
        data={**TIERS, "scope.valid_from": "2026-01-01", "scope.valid_to": "2026-12-31"},
    )
    assert saved.status_code == 302


def test_the_audit_log_words_a_saved_drafts_changes_in_the_readers_language(
    ws_app: Flask,
) -> None:
    # Regression: the audit log showed the stored English summary ("rate: 5 → 7") on
    # Russian pages
    draft_id = _draft(ws_app)
    client = login(ws_app, Role.ADMIN, username="boss")
    with ws_app.app_context():
        document = program_commands.version_document(db.session.get(ProgramVersion, draft_id))
        document["rules"][0]["params"]["rate"] = "7"
        program_commands.save_document(draft_id, document, None)
    russian = html.unescape(client.get("/auditentryview/list/").text)
    assert "ставка, %: 5 → 7" in russian and "rate: 5 → 7" not in russian
    client.get("/lang/en")
    english = html.unescape(client.get("/auditentryview/list/").text)
    assert "rate: 5 → 7" in english
