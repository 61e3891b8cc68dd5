"""Audit log entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from server.db.types import UTCDateTime, utcnow


@dataclass(frozen=True)
class AuditComment:
    """An entry's comment with what a screen needs to word it in the reader's language
    (a saved version's changes are re-read from its snapshots: the stored comment is
    English, for search)."""

    action: str
    comment: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditEntry(Model):
    """One change: who, when, which entity, and its state before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(64))
    entity_type: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[str] = mapped_column(sa.String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    comment: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def comment_shown(self) -> AuditComment:
        """The comment as the audit screens show it (see :class:`AuditComment`)."""
        return AuditComment(self.action, self.comment, self.before, self.after)
