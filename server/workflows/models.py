"""Workflow definitions (versions of a YAML file), instances and their history.

Besides the three core tables an instance has:

* :class:`WorkflowActionRun`: one row per action to run on entering a state, with its
  attempts, result and last error (the worker claims and runs them in order);
* :class:`WorkflowEvidence`: what guards look at that lives nowhere else (documents
  uploaded, training completed, a manager's approval);
* :class:`OutboxMessage`: every e-mail a workflow sends, logged or sent by SMTP;
* :class:`ProgramEnrollment`: the program version a partner was enrolled for.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.types import UTCDateTime, str_enum, utcnow


class DefinitionStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    archived = "archived"


class InstanceStatus(str, enum.Enum):
    #: waiting for the next transition
    running = "running"
    #: the actions of the state just entered are queued or running; no transition fires
    acting = "acting"
    #: an action failed after its retries; ``error`` says why, a retry re-queues it
    error = "error"
    #: a final state was reached and its actions are done
    finished = "finished"


class ActionRunStatus(str, enum.Enum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


class EvidenceKind(str, enum.Enum):
    document = "document"
    training = "training"
    approval = "approval"


class OutboxStatus(str, enum.Enum):
    #: written to the log only (no ``MAIL_SERVER`` configured)
    logged = "logged"
    sent = "sent"
    failed = "failed"


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
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

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
    action_runs: Mapped[list[WorkflowActionRun]] = relationship(
        back_populates="instance", order_by="WorkflowActionRun.id"
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


class WorkflowActionRun(Model):
    """An action to run on entering a state; claimed and run by a worker, in order."""

    __tablename__ = "workflow_action_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("workflow_instances.id"), index=True)
    transition_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workflow_transitions.id"))
    state: Mapped[str] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column(sa.Integer)
    action: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[ActionRunStatus] = mapped_column(
        str_enum(ActionRunStatus), default=ActionRunStatus.pending
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instance: Mapped[WorkflowInstance] = relationship(back_populates="action_runs")


class WorkflowEvidence(Model):
    """A document uploaded, a training completed or an approval given, for guards."""

    __tablename__ = "workflow_evidence"
    __table_args__ = (sa.Index("ix_workflow_evidence_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[int] = mapped_column(sa.Integer)
    #: set for approvals: an approval belongs to one instance, documents to the subject
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workflow_instances.id"))
    kind: Mapped[EvidenceKind] = mapped_column(str_enum(EvidenceKind))
    name: Mapped[str] = mapped_column(sa.String(100))
    file_name: Mapped[str | None] = mapped_column(sa.String(300))
    file_path: Mapped[str | None] = mapped_column(sa.String(500))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id"))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Model):
    """An e-mail a workflow sent (or logged); one per action run at most."""

    __tablename__ = "workflow_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_run_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("workflow_action_runs.id"), unique=True
    )
    recipients: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProgramEnrollment(Model):
    """A partner enrolled for a program version (the ``assign_program`` action)."""

    __tablename__ = "program_enrollments"
    __table_args__ = (sa.UniqueConstraint("partner_id", "program_version_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    program_version_id: Mapped[int] = mapped_column(sa.ForeignKey("program_versions.id"))
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workflow_instances.id"))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
