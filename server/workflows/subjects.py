"""What a workflow runs on: load a subject by type and id, and name it for people."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from server.campaigns.models import Campaign
from server.errors import CommandError
from server.extensions import db
from server.partners.models import Partner

Subject = Partner | Campaign

SUBJECT_MODELS: dict[str, type[Partner] | type[Campaign]] = {
    "partner": Partner,
    "campaign": Campaign,
}


def load_subject(subject_type: str, subject_id: int) -> Subject:
    """The partner or campaign an instance runs on.

    Raises:
        CommandError: unknown subject type or id.
    """
    model = SUBJECT_MODELS.get(subject_type)
    subject = db.session.get(model, subject_id) if model is not None else None
    if subject is None:
        raise CommandError(f"{subject_type} {subject_id} does not exist.")
    return subject


def subject_label(subject: Subject) -> str:
    if isinstance(subject, Partner):
        return f"{subject.code} · {subject.name}"
    return subject.title


def subject_labels(subject_type: str, ids: Iterable[int]) -> dict[int, str]:
    """Labels of many subjects of one type in one query."""
    wanted = set(ids)
    if not wanted:
        return {}
    if subject_type == "partner":
        rows = db.session.execute(
            sa.select(Partner.id, Partner.code, Partner.name).where(Partner.id.in_(wanted))
        )
        return {row.id: f"{row.code} · {row.name}" for row in rows}
    rows = db.session.execute(sa.select(Campaign.id, Campaign.title).where(Campaign.id.in_(wanted)))
    return {row.id: row.title for row in rows}
