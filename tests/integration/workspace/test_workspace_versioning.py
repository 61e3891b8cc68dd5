"""Program versions: drafts, publishing with effective dates, rollback, YAML, audit."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask

from server.audit.models import AuditEntry
from server.errors import CommandError
from server.extensions import db
from server.programs import commands as program_commands
from server.programs.forms import RuleDraft
from server.programs.models import VersionStatus
from server.programs.queries import version_in_force
from server.rules.program import ProgramError, load_program_yaml
from tests.integration.workspace.helpers import BASIC, load_basic, manager

pytestmark = pytest.mark.spec_examples


def _in_force_id(program_id: int, on: date) -> int | None:
    version = version_in_force(program_id, on)
    return version.id if version is not None else None


def _rate_draft(rate: str) -> RuleDraft:
    return RuleDraft("online-5", "percent_of_sale", {"rate": rate}, {"channels": ["online"]})


def test_edit_publish_and_effective_dating(app_ctx: Flask) -> None:
    actor = manager()
    v1 = load_basic(publish_from=date(2026, 1, 1))
    with pytest.raises(CommandError):
        program_commands.save_rule(v1.id, _rate_draft("7"), actor, replaces="online-5")
    v2 = program_commands.new_draft(v1.id, actor)
    assert (v2.number, v2.status) == (2, VersionStatus.draft)
    program_commands.save_rule(v2.id, _rate_draft("7"), actor, replaces="online-5")
    assert [r.rule_key for r in v2.rules][:2] == ["online-5", "offline-tiers"]
    assert v2.rules[0].params == {"rate": "7"}
    program_commands.publish_version(v2.id, date(2026, 3, 1), actor)
    db.session.expire_all()
    assert v1.status is VersionStatus.published and v1.effective_to == date(2026, 2, 28)
    assert _in_force_id(v1.program_id, date(2026, 2, 28)) == v1.id
    assert _in_force_id(v1.program_id, date(2026, 3, 1)) == v2.id
    # a version dated on or before the others supersedes them entirely
    v3 = program_commands.rollback_to(v1.id, actor)
    assert v3.rules[0].params == {"rate": "5"} and v3.note == "rollback to v1"
    program_commands.publish_version(v3.id, date(2026, 1, 1), actor)
    db.session.expire_all()
    assert (v1.status, v2.status, v3.status) == (
        VersionStatus.archived,
        VersionStatus.archived,
        VersionStatus.published,
    )
    assert _in_force_id(v1.program_id, date(2026, 6, 1)) == v3.id
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == [
        # the set-up's v1, published through the same command as the workspace's
        "program.create",
        "program_version.import",
        "program_version.publish",
        "program_version.edit",
        "program_version.rule_edit",
        "program_version.close",
        "program_version.publish",
        "program_version.rollback",
        "program_version.archive",
        "program_version.archive",
        "program_version.publish",
    ]
    edit = db.session.scalar(
        sa.select(AuditEntry).where(AuditEntry.action == "program_version.rule_edit")
    )
    assert edit.actor_name == "manager"
    assert edit.comment == '"online-5": rate: 5 → 7'
    assert edit.before["rules"][0]["params"] == {"rate": "5"}
    assert edit.after["rules"][0]["params"] == {"rate": "7"}


def test_invalid_rule_saves_nothing(app_ctx: Flask) -> None:
    actor = manager()
    v1 = load_basic()
    draft = program_commands.new_draft(v1.id, actor)
    before = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    with pytest.raises(ProgramError):
        program_commands.save_rule(draft.id, _rate_draft("-1"), actor, replaces="online-5")
    db.session.rollback()
    db.session.expire_all()
    assert draft.rules[0].params == {"rate": "5"}
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == before


def test_rules_add_move_delete_and_discard(app_ctx: Flask) -> None:
    actor = manager()
    draft = program_commands.new_draft(load_basic().id, actor)
    program_commands.save_rule(draft.id, RuleDraft("selfref", "hold_self_referral", {}, {}), actor)
    assert draft.rules[-1].rule_key == "selfref"
    program_commands.move_rule(draft.id, "selfref", -1, actor)
    assert [r.rule_key for r in draft.rules][-2:] == ["selfref", "large"]
    program_commands.delete_rule(draft.id, "selfref", actor)
    assert "selfref" not in [r.rule_key for r in draft.rules]
    with pytest.raises(CommandError):
        program_commands.delete_rule(draft.id, "nope", actor)
    program_commands.archive_draft(draft.id, actor)
    assert draft.status is VersionStatus.archived
    with pytest.raises(CommandError):
        program_commands.publish_version(draft.id, date(2026, 1, 1), actor)


def test_yaml_export_import_round_trip_and_refusals(app_ctx: Flask) -> None:
    actor = manager()
    v1 = load_basic()
    text = program_commands.export_yaml(v1)
    assert load_program_yaml(text) == load_program_yaml((BASIC / "program.yaml").read_text())
    v2 = program_commands.import_program_yaml(text.replace("rate: '5'", "rate: '6'"), actor)
    assert v2.number == 2 and v2.status is VersionStatus.draft
    assert v2.rules[0].params == {"rate": "6"}
    with pytest.raises(ProgramError) as error:
        program_commands.save_yaml(v2.id, text.replace("rate: '5'", "rate: x"), actor)
    assert "online-5" in str(error.value)
    with pytest.raises(CommandError):
        program_commands.save_yaml(v2.id, text.replace("currency: RUB", "currency: EUR"), actor)
    with pytest.raises(ProgramError):
        program_commands.import_program_yaml("program: [", actor)


def test_a_version_stores_the_enrolment_it_was_saved_with_and_a_new_draft_copies_it(
    app_ctx: Flask,
) -> None:
    actor = manager()
    v1 = load_basic()
    assert v1.enrolment is None  # stored before enrolment: every partner takes part
    text = program_commands.export_yaml(v1)
    assert "enrolment" not in text
    enrolled = text.replace("rules:", "enrolment:\n  regions: [A]\nrules:", 1)
    assert load_program_yaml(enrolled).enrolment.regions == ("A",)
    draft = program_commands.import_program_yaml(enrolled, actor)
    assert draft.enrolment == {"regions": ["A"]}
    assert load_program_yaml(program_commands.export_yaml(draft)).enrolment.regions == ("A",)
    program_commands.save_yaml(draft.id, enrolled.replace("[A]", "[A, B]"), actor)
    assert draft.enrolment == {"regions": ["A", "B"]}
    program_commands.publish_version(draft.id, date(2026, 1, 1), actor)
    v3 = program_commands.new_draft(draft.id, actor)
    assert v3.enrolment == {"regions": ["A", "B"]}
    program_commands.save_yaml(v3.id, text, actor)  # the key removed: everybody again
    assert v3.enrolment is None
    assert draft.enrolment == {"regions": ["A", "B"]}  # the published one keeps its own
    comments = db.session.scalars(
        sa.select(AuditEntry.comment)
        .where(AuditEntry.action == "program_version.save_yaml")
        .order_by(AuditEntry.id)
    ).all()
    assert comments == [
        "enrolment: regions: A → regions: A, B",
        "enrolment: regions: A, B → every partner",
    ]
