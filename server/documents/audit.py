"""Audit entries for document commands (added to the command's transaction)."""

from __future__ import annotations

from typing import Any

from server.audit.models import AuditEntry
from server.extensions import db


def actor_name(actor_id: int | None) -> str:
    """The username of ``actor_id``, or ``system`` for work nobody asked for directly."""
    if actor_id is None:
        return "system"
    from flask_appbuilder.security.sqla.models import User

    user = db.session.get(User, actor_id)
    return user.username if user is not None else f"user {actor_id}"


def audit(
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: int,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the session; the calling command commits it."""
    db.session.add(
        AuditEntry(
            actor_id=actor_id,
            actor_name=actor_name(actor_id),
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            after=after,
        )
    )
