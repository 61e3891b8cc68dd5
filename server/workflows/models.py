"""Workflow definitions (versions of a YAML file), instances and their history."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.types import UTCDateTime, str_enum, utcnow


class DefinitionStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    archived = "archived"


class InstanceStatus(str, enum.Enum):
    running = "running"
    error = "error"
    finished = "finished"


class WorkflowDefinition(Model):
    """A version of a workflow definition; instances keep the version they started on."""

    __tablename__ = "workflow_definitions"
    __table_args__ = (sa.UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[int] = mapped_column(sa.Integer)
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    source_yaml: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[DefinitionStatus] = mapped_column(
        str_enum(DefinitionStatus), default=DefinitionStatus.draft
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"


class WorkflowInstance(Model):
    """One case (a partner's onboarding, a campaign) moving through a definition."""

    __tablename__ = "workflow_instances"
    __table_args__ = (sa.Index("ix_workflow_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_definitions.id"))
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column(sa.Integer)
    state: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[InstanceStatus] = mapped_column(
        str_enum(InstanceStatus), default=InstanceStatus.running
    )
    error: Mapped[str | None] = mapped_column(sa.Text)
    state_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    definition: Mapped[WorkflowDefinition] = relationship()
    history: Mapped[list[WorkflowTransition]] = relationship(
        back_populates="instance", order_by="WorkflowTransition.at"
    )


class WorkflowTransition(Model):
    """A fired transition: who, when, from which state to which, and why."""

    __tablename__ = "workflow_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), index=True)
    trigger: Mapped[str] = mapped_column(sa.String(100))
    from_state: Mapped[str | None] = mapped_column(sa.String(100))
    to_state: Mapped[str] = mapped_column(sa.String(100))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id"))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    instance: Mapped[WorkflowInstance] = relationship(back_populates="history")
