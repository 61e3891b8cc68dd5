"""Read-only queries over campaigns."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from server.campaigns.models import Campaign
from server.extensions import db
from server.programs.models import Program, ProgramVersion, VersionStatus


def campaign_rules_version(campaign: Campaign) -> ProgramVersion | None:
    """The published version of the campaign's own program holding its rules (None for
    a campaign composed before campaigns had a program: its rule is in its program's
    versions)."""
    if campaign.rules_program_id is None:
        return None
    return db.session.scalar(
        sa.select(ProgramVersion)
        .where(
            ProgramVersion.program_id == campaign.rules_program_id,
            ProgramVersion.status == VersionStatus.published,
        )
        .order_by(ProgramVersion.number.desc())
        .limit(1)
    )


def campaign_programs() -> sa.Select[Any]:
    """The ids of the campaigns' own programs (a subquery)."""
    return sa.select(Campaign.rules_program_id).where(Campaign.rules_program_id.is_not(None))


def programs_for_campaigns() -> list[Program]:
    """The programs a campaign can be for: every program but the campaigns' own."""
    return list(
        db.session.scalars(
            sa.select(Program).where(Program.id.not_in(campaign_programs())).order_by(Program.slug)
        )
    )


def campaigns_by_program() -> dict[int, Campaign]:
    """Each campaign's own program id → the campaign."""
    return {
        campaign.rules_program_id: campaign
        for campaign in db.session.scalars(
            sa.select(Campaign).where(Campaign.rules_program_id.is_not(None))
        )
        if campaign.rules_program_id is not None
    }
