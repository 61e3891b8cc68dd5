"""Writing the audit log: one entry per change, added to the caller's transaction."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from server.audit.models import AuditEntry
from server.extensions import db

#: the name written for changes made by no logged-in user (CLI, workers)
SYSTEM_ACTOR = "system"


def _json_ready(value: Any) -> Any:
    """Before/after snapshots for a JSON column: dates and decimals as their text."""
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if isinstance(value, date | Decimal):
        return str(value)
    if hasattr(value, "value") and isinstance(value.value, str):  # str enums
        return value.value
    return value


def actor_name(actor_id: int | None) -> str:
    """The user's login for the log (``system`` when no user acted)."""
    if actor_id is None:
        return SYSTEM_ACTOR
    from flask_appbuilder.security.sqla.models import User

    user = db.session.get(User, actor_id)
    return user.username if user is not None else f"user {actor_id}"


def record(
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    comment: str | None = None,
) -> AuditEntry:
    """Add an audit entry to the session (the calling command commits it)."""
    entry = AuditEntry(
        actor_id=actor_id,
        actor_name=actor_name(actor_id),
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=_json_ready(before) if before is not None else None,
        after=_json_ready(after) if after is not None else None,
        comment=comment,
    )
    db.session.add(entry)
    return entry
