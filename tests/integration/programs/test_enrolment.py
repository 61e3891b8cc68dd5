"""Enrolment stored with program versions (spec §6): the ledger equals ``simulate`` over
each version's exported file, a partner added on the 15th earns from that day, the
onboarding action publishes the change, and the screens edit and show it."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from flask import Flask
from flask.testing import FlaskClient

from server.audit.models import AuditEntry
from server.errors import CommandError
from server.extensions import db
from server.partners.commands import import_partners
from server.partners.models import Partner
from server.programs import commands as program_commands
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.programs.queries import partners_of_program, programs_of_partner
from server.rules.evaluator import Evaluator
from server.rules.output import outcome_to_json
from server.rules.partners import load_partners_file, parse_partners
from server.rules.program import load_program_file, load_program_yaml
from server.rules.sorting import sorted_events
from server.security.api_keys import create_api_key
from server.security.commands import sync_roles
from server.security.roles import Role
from tests.conftest import SHARED_DIR
from tests.integration.ledger.helpers import expected, exported, post, raw_batch, run_worker
from tests.support.web import login

TWO_PROGRAMS = SHARED_DIR / "spec" / "several-programs" / "two-programs"
PROGRAM_FILES = ("program-affiliates.yaml", "program-stores.yaml")


def test_stored_enrolments_through_the_api_and_a_worker_equal_the_worked_example(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        import_partners(load_partners_file(TWO_PROGRAMS / "partners.yaml"))
        for name in PROGRAM_FILES:
            version = program_commands.add_program_version(
                load_program_file(TWO_PROGRAMS / name),
                publish=True,
                effective_from=date(2000, 1, 1),
            )
            assert version.enrolment  # stored, not refused nor dropped
        key = create_api_key("test", "shop").key
    assert post(client, key, raw_batch(TWO_PROGRAMS)).status_code == 200
    run_worker(app)
    assert exported(app) == expected(TWO_PROGRAMS)


STORES = """\
program: stores
title: Магазины
currency: RUB
enrolment:
  partners: [SHOP-1]
rules:
  - id: five
    template: percent_of_sale
    params: {rate: "5"}
"""
PARTNERS = {
    "partners": [
        {
            "id": "SHOP-1",
            "type": "offline_point",
            "region": "A",
            "status": "active",
            "codes": {"qr": ["qr-1"]},
        },
        {
            "id": "SHOP-2",
            "type": "offline_point",
            "region": "B",
            "status": "active",
            "codes": {"qr": ["qr-2"]},
        },
    ]
}


def _sale(event_id: str, day: int, qr: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "sale",
        "occurred_at": f"2026-03-{day:02d}T10:00:00+03:00",
        "qr_token": qr,
        "channel": "offline",
        "amount": "1000",
        "currency": "RUB",
        "customer": f"c-{event_id}",
    }


EVENTS = [_sale("s1", 10, "qr-1"), _sale("s2", 10, "qr-2"), _sale("s3", 20, "qr-2")]


def _simulate_each_version(program_id: int, tmp_path: Path) -> list[dict[str, Any]]:
    """``simulate`` over each published version's exported file and the events of its
    dates, in event order."""
    lines: list[dict[str, Any]] = []
    partners = parse_partners(PARTNERS)
    versions = db.session.scalars(
        sa.select(ProgramVersion)
        .where(
            ProgramVersion.program_id == program_id,
            ProgramVersion.status == VersionStatus.published,
        )
        .order_by(ProgramVersion.effective_from)
    ).all()
    for version in versions:
        spec = load_program_yaml(program_commands.export_yaml(version))
        events = tmp_path / f"v{version.number}.jsonl"
        assert version.effective_from is not None
        events.write_text(
            "\n".join(
                json.dumps(e)
                for e in EVENTS
                if version.effective_from <= date.fromisoformat(e["occurred_at"][:10])
                and (
                    version.effective_to is None
                    or date.fromisoformat(e["occurred_at"][:10]) <= version.effective_to
                )
            )
        )
        lines.extend(
            outcome_to_json(outcome)
            for outcome in Evaluator([spec], partners).run(sorted_events(events))
        )
    return sorted(lines, key=lambda line: line["event"])


def test_a_partner_added_on_the_15th_earns_from_the_version_in_force_from_that_day(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    with app.app_context():
        import_partners(parse_partners(PARTNERS))
        v1 = program_commands.add_program_version(
            load_program_yaml(STORES), publish=True, effective_from=date(2026, 3, 1)
        )
        program_id = v1.program_id
        draft = program_commands.new_draft(v1.id, None)  # a manager's draft in progress
        v3 = program_commands.enrol_partner(program_id, "SHOP-2", date(2026, 3, 15), None)
        assert (v3.number, v3.effective_from, v3.enrolment) == (
            3,
            date(2026, 3, 15),
            {"partners": ["SHOP-1", "SHOP-2"]},
        )
        db.session.expire_all()
        assert db.session.get(ProgramVersion, v1.id).effective_to == date(2026, 3, 14)
        # the open draft names the partner too, so publishing it does not drop them
        assert db.session.get(ProgramVersion, draft.id).enrolment == {
            "partners": ["SHOP-1", "SHOP-2"]
        }
        # again: already listed, nothing changes
        assert (
            program_commands.enrol_partner(program_id, "SHOP-2", date(2026, 3, 15), None).id
            == v3.id
        )
        key = create_api_key("test", "shop").key
    body = json.dumps(EVENTS)
    assert post(client, key, body).status_code == 200
    run_worker(app)
    lines = exported(app)
    assert [(line["event"], line["partner"]) for line in lines] == [
        ("s1", "SHOP-1"),
        ("s3", "SHOP-2"),
    ]
    with app.app_context():
        assert sorted(lines, key=lambda line: line["event"]) == _simulate_each_version(
            program_id, tmp_path
        )
        shop2 = db.session.scalar(sa.select(Partner).where(Partner.code == "SHOP-2"))
        assert shop2 is not None
        [member] = programs_of_partner(shop2, date(2026, 3, 20))
        assert (member.program.slug, member.since) == ("stores", date(2026, 3, 15))
        assert programs_of_partner(shop2, date(2026, 3, 10)) == [] or (
            programs_of_partner(shop2, date(2026, 3, 10))[0].since == date(2026, 3, 15)
        )
        program = db.session.get(Program, program_id)
        assert [
            (m.partner.code, m.since) for m in partners_of_program(program, date(2026, 3, 20))
        ] == [
            ("SHOP-1", date(2026, 3, 1)),
            ("SHOP-2", date(2026, 3, 15)),
        ]
        actions = db.session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.entity_type == "program_version")
        ).all()
        assert actions.count("program_version.enrolment") == 2  # the new version, the draft
        assert "program_version.publish" in actions


def test_enrolling_refuses_a_program_with_a_version_scheduled_later(app_ctx: Flask) -> None:
    import_partners(parse_partners(PARTNERS))
    v1 = program_commands.add_program_version(
        load_program_yaml(STORES), publish=True, effective_from=date(2026, 3, 1)
    )
    program_commands.add_program_version(
        load_program_yaml(STORES), publish=True, effective_from=date(2026, 4, 1)
    )
    with pytest.raises(CommandError, match="запланирована версия v2"):
        program_commands.enrol_partner(v1.program_id, "SHOP-2", date(2026, 3, 15), None)
    with pytest.raises(CommandError, match="Неизвестные партнёры: NOBODY"):
        program_commands.enrol_partner(v1.program_id, "NOBODY", date(2026, 3, 15), None)


def test_a_program_for_everybody_is_left_as_it_is(app_ctx: Flask) -> None:
    import_partners(parse_partners(PARTNERS))
    everybody = STORES.replace("enrolment:\n  partners: [SHOP-1]\n", "")
    v1 = program_commands.add_program_version(
        load_program_yaml(everybody), publish=True, effective_from=date(2026, 3, 1)
    )
    assert (
        program_commands.enrol_partner(v1.program_id, "SHOP-2", date(2026, 3, 15), None).id == v1.id
    )
    assert v1.enrolment is None


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.fixture
def roles_app(app: Flask) -> Iterator[Flask]:
    """The app with every role's permissions synchronised (the new screens' too)."""
    with app.app_context():
        sync_roles()
    yield app


def test_the_enrolment_editor_saves_the_draft_and_the_screens_show_who_takes_part(
    roles_app: Flask,
) -> None:
    app = roles_app
    with app.app_context():
        import_partners(parse_partners(PARTNERS))
        shop = db.session.scalar(sa.select(Partner).where(Partner.code == "SHOP-2"))
        assert shop is not None
        shop.name, shop.tags = "Магазин на Ленина", ["vip"]
        db.session.commit()
        shop_id = shop.id
        draft = program_commands.import_program_yaml(STORES, None)
        draft_id, program_id = draft.id, draft.program_id
    manager = login(app, Role.MANAGER, username="mira")
    page = manager.get(f"/workspace/version/{draft_id}").get_data(as_text=True)
    assert "Кто участвует" in page and "Магазин на Ленина (SHOP-2)" in page
    assert "Офлайн-точки" in page
    assert "партнёры поимённо: SHOP-1" in page
    # without the CSRF token nothing is saved
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = manager.post(
            f"/workspace/version/{draft_id}/enrolment", data={"enrolment_regions": ["B"]}
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400
    answer = manager.post(
        f"/workspace/version/{draft_id}/enrolment",
        data={
            "csrf_token": _csrf(page),
            "enrolment_regions": ["B"],
            "enrolment_tags": ["vip"],
            "enrolment_partners": ["SHOP-1"],
        },
        follow_redirects=True,
    )
    assert answer.status_code == 200
    assert "Состав участников сохранён" in answer.get_data(as_text=True)
    with app.app_context():
        version = db.session.get(ProgramVersion, draft_id)
        assert version is not None
        assert version.enrolment == {"regions": ["B"], "tags": ["vip"], "partners": ["SHOP-1"]}
        entry = db.session.scalar(
            sa.select(AuditEntry).where(AuditEntry.action == "program_version.enrolment")
        )
        assert entry is not None and entry.comment is not None and "regions: B" in entry.comment
        program_commands.publish_version(draft_id, date(2026, 3, 1), None)
    audit = manager.get("/auditentryview/list/").get_data(as_text=True)
    assert (
        "участники: партнёры поимённо: SHOP-1 → регионы: B; метки: vip; партнёры поимённо: SHOP-1"
        in audit
    )
    page = manager.get(f"/workspace/program/{program_id}").get_data(as_text=True)
    assert "Участники программы" in page
    table = page.split('id="pf-program-partners-table"')[1]
    assert "SHOP-1" in table and "Магазин на Ленина" in table
    assert 'id="pf-program-partner-count">2<' in page
    partner_page = manager.get(f"/partnerview/show/{shop_id}").get_data(as_text=True)
    assert "Программы" in partner_page and "Магазины" in partner_page
    assert "01.03.2026" in partner_page  # since, as a Russian reader writes a day


def test_partner_tags_are_edited_on_the_partner_form(roles_app: Flask) -> None:
    app = roles_app
    with app.app_context():
        import_partners(parse_partners(PARTNERS))
        shop = db.session.scalar(sa.select(Partner).where(Partner.code == "SHOP-1"))
        assert shop is not None
        shop_id = shop.id
    manager = login(app, Role.MANAGER, username="mira")
    form = manager.get(f"/partnerview/edit/{shop_id}").get_data(as_text=True)
    assert 'name="tags_text"' in form and "Метки" in form
    fields = dict(re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', form))
    answer = manager.post(
        f"/partnerview/edit/{shop_id}",
        data={
            **fields,
            "csrf_token": _csrf(form),
            "code": "SHOP-1",
            "name": "SHOP-1",
            "kind": "offline_point",
            "status": "active",
            "region": str(_region_id(app, "A")),
            "tags_text": "vip, pilot-msk, vip",
        },
        follow_redirects=True,
    )
    assert answer.status_code == 200
    with app.app_context():
        shop = db.session.get(Partner, shop_id)
        assert shop is not None and shop.tags == ["pilot-msk", "vip"]


def _region_id(app: Flask, code: str) -> int:
    from server.partners.models import Region

    with app.app_context():
        region_id = db.session.scalar(sa.select(Region.id).where(Region.code == code))
        assert region_id is not None
        return region_id


def test_the_folder_yaml_round_trips(tmp_path: Path) -> None:
    """The worked example's files keep their enrolment through the exporter's YAML."""
    for name in PROGRAM_FILES:
        shutil.copy(TWO_PROGRAMS / name, tmp_path / name)
        document = yaml.safe_load((tmp_path / name).read_text())
        assert load_program_file(tmp_path / name).enrolment.to_dict() == document["enrolment"]


def test_the_portal_shows_a_partner_only_the_programs_it_takes_part_in(app_ctx: Flask) -> None:
    from server.portal.queries import my_programs

    import_partners(parse_partners(PARTNERS))
    program_commands.add_program_version(
        load_program_yaml(STORES), publish=True, effective_from=date(2026, 3, 1)
    )
    everybody = STORES.replace("enrolment:\n  partners: [SHOP-1]\n", "").replace(
        "program: stores\ntitle: Магазины", "program: all\ntitle: Для всех"
    )
    program_commands.add_program_version(
        load_program_yaml(everybody), publish=True, effective_from=date(2026, 3, 1)
    )
    titles = {}
    for code in ("SHOP-1", "SHOP-2"):
        partner = db.session.scalar(sa.select(Partner).where(Partner.code == code))
        assert partner is not None
        titles[code] = [p.title for p in my_programs(partner, "ru", date(2026, 3, 20))]
    assert titles == {"SHOP-1": ["Для всех", "Магазины"], "SHOP-2": ["Для всех"]}


def test_a_new_program_started_as_a_copy_takes_the_copied_version_s_enrolment(
    app_ctx: Flask,
) -> None:
    import_partners(parse_partners(PARTNERS))
    program_commands.add_program_version(
        load_program_yaml(STORES), publish=True, effective_from=date(2026, 3, 1)
    )
    copy = program_commands.create_program(
        program_commands.NewProgram(
            title="Магазины, весна", start=program_commands.START_COPY, copy_of="stores"
        ),
        None,
    )
    assert copy.enrolment == {"partners": ["SHOP-1"]}
    empty = program_commands.create_program(program_commands.NewProgram(title="Пустая"), None)
    assert empty.enrolment is None
