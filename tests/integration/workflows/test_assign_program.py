"""The onboarding action ``assign_program`` enrols the partner into a named program by
publishing a new version of it from the partner's today (audited), once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from server.audit.models import AuditEntry
from server.documents.contracts import local_today
from server.extensions import db
from server.partners.models import Partner
from server.programs.commands import add_program_version
from server.programs.models import Program, ProgramVersion, VersionStatus
from server.programs.queries import programs_of_partner
from server.rules.program import load_program_yaml
from server.workflows.actions import ActionContext, ActionFailed, assign_program
from server.workflows.models import ProgramEnrollment, WorkflowActionRun
from tests.integration.workflows.conftest import Onboarding, start_workflow

AMBASSADORS = """\
program: ambassadors
title: Амбассадоры
currency: RUB
enrolment:
  partner_types: [ambassador]
rules:
  - id: five
    template: percent_of_sale
    params: {rate: "5"}
"""


def _context(partner_id: int, manager_id: int, params: dict[str, str]) -> ActionContext:
    instance = start_workflow("partner", partner_id, manager_id)
    run = WorkflowActionRun(
        instance_id=instance.id,
        state="activation",
        position=0,
        action="assign_program",
        params=params,
    )
    db.session.add(run)
    db.session.commit()
    partner = db.session.get(Partner, partner_id)
    assert partner is not None
    return ActionContext(instance, run, partner, manager_id, datetime.now(UTC))


def test_assign_program_publishes_the_named_program_with_the_partner_listed(
    wf_app: Flask, onboarding: Onboarding
) -> None:
    with wf_app.app_context():
        v1 = add_program_version(
            load_program_yaml(AMBASSADORS), publish=True, effective_from=date(2026, 1, 1)
        )
        partner = db.session.get(Partner, onboarding.partner_id)
        assert partner is not None
        assert [m.program.slug for m in programs_of_partner(partner, date.today())] != [
            "ambassadors"
        ]
        context = _context(onboarding.partner_id, onboarding.manager_id, {"program": "ambassadors"})
        result = assign_program(context)
        db.session.expire_all()
        version = db.session.get(ProgramVersion, result["program_version_id"])
        assert version is not None and version.id != v1.id
        today = local_today(partner.region)
        assert (version.status, version.effective_from) == (VersionStatus.published, today)
        assert version.enrolment == {"partner_types": ["ambassador"], "partners": ["WEB-NEW"]}
        assert (
            version.note == f"partner WEB-NEW enrolled by workflow instance {context.instance.id}"
        )
        slugs = {m.program.slug: m.since for m in programs_of_partner(partner, today)}
        assert slugs["ambassadors"] == today
        # run again (a retry): nothing more
        assert assign_program(context)["program_version_id"] == version.id
        program = db.session.scalar(sa.select(Program).where(Program.slug == "ambassadors"))
        assert program is not None and len(program.versions) == 2
        assert db.session.scalar(sa.select(sa.func.count(ProgramEnrollment.id))) == 1
        actions = set(
            db.session.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.entity_id == str(version.id))
            )
        )
        assert {"program_version.enrolment", "program_version.publish"} <= actions


def test_assign_program_names_an_unknown_program(wf_app: Flask, onboarding: Onboarding) -> None:
    with wf_app.app_context():
        context = _context(onboarding.partner_id, onboarding.manager_id, {"program": "nope"})
        with pytest.raises(ActionFailed, match="nope"):
            assign_program(context)
