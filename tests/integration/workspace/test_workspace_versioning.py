"""Program versions: drafts, publishing with effective dates, rollback, YAML, audit."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask

from server.audit.models import AuditEntry
from server.errors import CommandError
from server.extensions import db
from server.programs import versioning
from server.programs.commands import version_in_force
from server.programs.forms import RuleDraft
from server.programs.models import VersionStatus
from server.rules.program import ProgramError, load_program_yaml
from tests.integration.workspace.helpers import BASIC, load_basic, manager

pytestmark = pytest.mark.skipif(not BASIC.is_dir(), reason=f"no spec examples at {BASIC}")


def _rate_draft(rate: str) -> RuleDraft:
    return RuleDraft("online-5", "percent_of_sale", {"rate": rate}, {"channels": ["online"]})


def test_edit_publish_and_effective_dating(app_ctx: Flask) -> None:
    actor = manager()
    v1 = load_basic(publish_from=date(2026, 1, 1))
    with pytest.raises(CommandError):
        versioning.save_rule(v1.id, _rate_draft("7"), actor, replaces="online-5")
    v2 = versioning.new_draft(v1.id, actor)
    assert (v2.number, v2.status) == (2, VersionStatus.draft)
    versioning.save_rule(v2.id, _rate_draft("7"), actor, replaces="online-5")
    assert [r.rule_key for r in v2.rules][:2] == ["online-5", "offline-tiers"]
    assert v2.rules[0].params == {"rate": "7"}
    versioning.publish(v2.id, date(2026, 3, 1), actor)
    db.session.expire_all()
    assert v1.status is VersionStatus.published and v1.effective_to == date(2026, 2, 28)
    assert version_in_force(v1.program_id, date(2026, 2, 28)).id == v1.id
    assert version_in_force(v1.program_id, date(2026, 3, 1)).id == v2.id
    # a version dated on or before the others supersedes them entirely
    v3 = versioning.rollback_to(v1.id, actor)
    assert v3.rules[0].params == {"rate": "5"} and v3.note == "rollback to v1"
    versioning.publish(v3.id, date(2026, 1, 1), actor)
    db.session.expire_all()
    assert (v1.status, v2.status, v3.status) == (
        VersionStatus.archived,
        VersionStatus.archived,
        VersionStatus.published,
    )
    assert version_in_force(v1.program_id, date(2026, 6, 1)).id == v3.id
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == [
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
    draft = versioning.new_draft(v1.id, actor)
    before = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    with pytest.raises(ProgramError):
        versioning.save_rule(draft.id, _rate_draft("-1"), actor, replaces="online-5")
    db.session.rollback()
    db.session.expire_all()
    assert draft.rules[0].params == {"rate": "5"}
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == before


def test_rules_add_move_delete_and_discard(app_ctx: Flask) -> None:
    actor = manager()
    draft = versioning.new_draft(load_basic().id, actor)
    versioning.save_rule(draft.id, RuleDraft("selfref", "hold_self_referral", {}, {}), actor)
    assert draft.rules[-1].rule_key == "selfref"
    versioning.move_rule(draft.id, "selfref", -1, actor)
    assert [r.rule_key for r in draft.rules][-2:] == ["selfref", "large"]
    versioning.delete_rule(draft.id, "selfref", actor)
    assert "selfref" not in [r.rule_key for r in draft.rules]
    with pytest.raises(CommandError):
        versioning.delete_rule(draft.id, "nope", actor)
    versioning.archive_draft(draft.id, actor)
    assert draft.status is VersionStatus.archived
    with pytest.raises(CommandError):
        versioning.publish(draft.id, date(2026, 1, 1), actor)


def test_yaml_export_import_round_trip_and_refusals(app_ctx: Flask) -> None:
    actor = manager()
    v1 = load_basic()
    text = versioning.export_yaml(v1)
    assert load_program_yaml(text) == load_program_yaml((BASIC / "program.yaml").read_text())
    v2 = versioning.import_program_yaml(text.replace("rate: '5'", "rate: '6'"), actor)
    assert v2.number == 2 and v2.status is VersionStatus.draft
    assert v2.rules[0].params == {"rate": "6"}
    with pytest.raises(ProgramError) as error:
        versioning.save_yaml(v2.id, text.replace("rate: '5'", "rate: x"), actor)
    assert "online-5" in str(error.value)
    with pytest.raises(CommandError):
        versioning.save_yaml(v2.id, text.replace("currency: RUB", "currency: EUR"), actor)
    with pytest.raises(ProgramError):
        versioning.import_program_yaml("program: [", actor)
