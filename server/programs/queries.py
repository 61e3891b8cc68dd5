"""Read-only queries over programs and their versions."""

from __future__ import annotations

import sqlalchemy as sa

from server.extensions import db
from server.programs.models import ProgramVersion, VersionStatus


def published_versions() -> list[ProgramVersion]:
    """Every published program version, newest effective date first."""
    return list(
        db.session.scalars(
            sa.select(ProgramVersion)
            .where(ProgramVersion.status == VersionStatus.published)
            .order_by(ProgramVersion.effective_from.desc())
        )
    )
