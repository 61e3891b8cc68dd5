"""Sales events, the append-only accrual ledger, hold decisions and statements.

Accruals are never updated in place: refunds, hold decisions and payouts add rows.
``Accrual.dedupe_key`` is unique, so re-evaluating an event writes nothing twice.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.types import ExactDecimal, Money, UTCDateTime, str_enum, utcnow
from server.partners.models import Partner
from server.programs.models import Program


class EventType(str, enum.Enum):
    sale = "sale"
    refund = "refund"
    lead = "lead"
    action = "action"
    impressions = "impressions"


class EventStatus(str, enum.Enum):
    pending = "pending"
    processed = "processed"
    rejected = "rejected"
    #: the same sale was reported earlier by another channel (same order id): not paid twice
    merged = "merged"


class AccrualKind(str, enum.Enum):
    commission = "commission"
    bonus = "bonus"
    override = "override"
    points = "points"
    reward = "reward"
    #: a manager released a held accrual: the held amount becomes payable
    release = "release"
    #: a manager rejected a held accrual: it will never be paid
    forfeit = "forfeit"
    payout = "payout"
    adjustment = "adjustment"


class AccrualStatus(str, enum.Enum):
    approved = "approved"
    held = "held"


class HoldVerdict(str, enum.Enum):
    approve = "approve"
    reject = "reject"


class SalesEvent(Model):
    """An event reported by a source (online store, POS import, API), stored first."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id"),
        sa.Index("ix_events_status_received", "status", "received_at"),
        sa.Index("ix_events_processed_at", "processed_at"),
        # admission's queue: events not yet admitted in processing order (occurred_at,
        # id), without sorting a backlog of a million rows per batch, nor stepping over
        # the admitted ones the programs have not applied yet
        sa.Index(
            "ix_events_pending_order",
            "occurred_at",
            "external_id",
            "id",
            sqlite_where=sa.text("status = 'pending' AND admitted_seq IS NULL"),
            postgresql_where=sa.text("status = 'pending' AND admitted_seq IS NULL"),
        ),
        # admitted events whose programs have not all applied their rules yet, in the
        # order they were admitted (the programs' workers and the finishing step)
        sa.Index(
            "ix_events_admitted_pending",
            "admitted_seq",
            sqlite_where=sa.text("status = 'pending' AND admitted_seq IS NOT NULL"),
            postgresql_where=sa.text("status = 'pending' AND admitted_seq IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64))
    external_id: Mapped[str] = mapped_column(sa.String(200))
    type: Mapped[EventType | None] = mapped_column(str_enum(EventType))
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    partner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    channel: Mapped[str | None] = mapped_column(sa.String(16))
    region_code: Mapped[str | None] = mapped_column(sa.String(16))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    customer: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    category: Mapped[str | None] = mapped_column(sa.String(100))
    refers_to: Mapped[str | None] = mapped_column(sa.String(200))
    #: the shop's order number, shared by online and POS reports of the same sale
    order_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    payload_sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[EventStatus] = mapped_column(str_enum(EventStatus), default=EventStatus.pending)
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(200))
    #: set when a sale reported by two channels was merged into an earlier one
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id"), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: the event's place in the one order of admission (evaluation's first stage); the
    #: programs apply their rules in this order (docs/ledger.md)
    admitted_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: what admission found: credited partner, customer facts, the program versions to
    #: apply (``server.ledger.admission``)
    admission: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    partner: Mapped[Partner | None] = relationship()
    accruals: Mapped[list[Accrual]] = relationship(
        back_populates="event", order_by="Accrual.id", foreign_keys="Accrual.event_id"
    )

    def __str__(self) -> str:
        return f"{self.source}/{self.external_id}"


class Accrual(Model):
    """One ledger row: what a partner earned (or lost) from one event and one rule.

    On PostgreSQL the references to partners, events, rule instances and program
    versions are enforced by statement-level triggers, not foreign keys: the same
    guarantees, checked once per batch instead of once per row (server/db/references.py).
    """

    __tablename__ = "accruals"
    __table_args__ = (
        sa.Index("ix_accruals_partner_created", "partner_id", "created_at"),
        sa.Index("ix_accruals_status_kind", "status", "kind"),
        sa.Index("ix_accruals_created_at", "created_at"),
        # campaign spend (server/campaigns/budget.py), read by every evaluation batch
        sa.Index("ix_accruals_rule_key_kind", "rule_key", "kind"),
        # the ledger screens' program filter, newest first
        sa.Index("ix_accruals_program_created", "program_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(sa.String(400), unique=True)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id"), index=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"))
    rule_instance_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rule_instances.id"), index=True
    )
    rule_key: Mapped[str | None] = mapped_column(sa.String(100))
    program_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("program_versions.id"), index=True
    )
    #: the program that produced it (spec §6); every row evaluation writes has one, and
    #: holds' follow-ups copy it. None for rows of no program (payouts). Not a foreign
    #: key: evaluation maps it from the outcome's program slug, read from ``programs``
    #: in the same transaction, and programs are never deleted once published
    program_id: Mapped[int | None] = mapped_column(sa.Integer)
    kind: Mapped[AccrualKind] = mapped_column(str_enum(AccrualKind))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    #: 64-bit: a point per rouble of the largest sale intake accepts is 10^12 points
    points: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[AccrualStatus] = mapped_column(str_enum(AccrualStatus))
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    level: Mapped[int | None] = mapped_column(sa.Integer)
    reward: Mapped[str | None] = mapped_column(sa.String(300))
    #: for reversals: the sale's external id, as the spec's output names it
    reverses: Mapped[str | None] = mapped_column(sa.String(200))
    reverses_accrual_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("accruals.id"), index=True
    )
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[SalesEvent | None] = relationship(
        back_populates="accruals", foreign_keys=[event_id]
    )
    partner: Mapped[Partner] = relationship()
    #: read-only: rows are written as column values, never through the relationship
    program: Mapped[Program | None] = relationship(
        primaryjoin="foreign(Accrual.program_id) == Program.id", viewonly=True
    )

    def __str__(self) -> str:
        return f"{self.kind.value} {self.amount} → {self.partner_id}"


class HoldDecision(Model):
    """A manager's verdict on a held accrual; the ledger row it added is linked."""

    __tablename__ = "hold_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    accrual_id: Mapped[int] = mapped_column(sa.ForeignKey("accruals.id"), unique=True)
    verdict: Mapped[HoldVerdict] = mapped_column(str_enum(HoldVerdict))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ledger_accrual_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accruals.id"), index=True)


class IntakeRejection(Model):
    """An event refused at intake (malformed); kept for the sender's and the UI's eyes.

    Its id is not claimed: the sender may fix the event and send it again.
    """

    __tablename__ = "intake_rejections"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64), index=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(200))
    line: Mapped[int | None] = mapped_column(sa.Integer)
    reason: Mapped[str] = mapped_column(sa.String(200))
    payload: Mapped[Any] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


# Evaluation state --------------------------------------------------------------------
# What the rules engine remembers between events (server.rules.state.EvaluationState),
# kept in the database for the workers. Rows change only inside an evaluation batch,
# which holds the evaluation lock, so batches see each other's state in order.


class EvaluationLock(Model):
    """One row; an admission batch updates it first, which serializes admission."""

    __tablename__ = "evaluation_lock"

    id: Mapped[int] = mapped_column(primary_key=True)
    batches: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_batch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the last ``SalesEvent.admitted_seq`` given
    admitted_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class ProgramProgress(Model):
    """A program's row: its batches update it first (one batch of a program at a
    time, programs in parallel) and it says how far the program has applied its rules."""

    __tablename__ = "eval_program_progress"

    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), primary_key=True)
    #: every admitted event up to this one has been through the program
    applied_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    batches: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_batch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EvaluatedEventId(Model):
    """Event ids the engine has processed (its duplicate check, ids as in the spec)."""

    __tablename__ = "eval_event_ids"

    event_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)


class CustomerSale(Model):
    """An accepted sale's instant per customer (first purchases, velocity holds)."""

    __tablename__ = "eval_customer_sales"
    __table_args__ = (sa.Index("ix_eval_customer_sales", "customer", "at_us"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(sa.String(200))
    at_us: Mapped[int] = mapped_column(sa.BigInteger)


class PeriodFiguresRow(Model):
    """A rule's figures for one partner and period (month-to-date sums, goal counters)."""

    __tablename__ = "eval_period_figures"

    #: ``<program slug>/<rule id>``: programs never share figures (spec §6)
    rule: Mapped[str] = mapped_column(sa.String(201), primary_key=True)
    partner: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    sales_amount: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal("0"))
    sales_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    new_customers: Mapped[int] = mapped_column(sa.Integer, default=0)
    goal_paid: Mapped[bool] = mapped_column(sa.Boolean, default=False)


class SaleRegistryRow(Model):
    """An accepted sale as admission sees it: amount, refunded so far, and the program
    versions it was admitted to (a refund reverses in each); the reversible accruals
    are the programs' own (:class:`ProgramSaleRow`)."""

    __tablename__ = "eval_sales"

    sale_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    partner: Mapped[str] = mapped_column(sa.String(64))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    refunded: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal("0"))
    #: rows written before evaluation had two stages: every program's accruals
    accruals: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    #: program id (text) → version id applied to the sale
    versions: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class ProgramSaleRow(Model):
    """A sale as one program's refunds see it: the program's reversible accruals."""

    __tablename__ = "eval_program_sales"

    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), primary_key=True)
    sale_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    partner: Mapped[str] = mapped_column(sa.String(64))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    refunded: Mapped[Decimal] = mapped_column(ExactDecimal, default=Decimal("0"))
    accruals: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)


class ImportMapping(Model):
    """How a source's CSV columns map to event fields; saved per source."""

    __tablename__ = "import_mappings"

    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    columns: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Moscow")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SalesImport(Model):
    """One uploaded file of offline sales: counts, row errors and merges."""

    __tablename__ = "sales_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64), index=True)
    filename: Mapped[str] = mapped_column(sa.String(300))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows_total: Mapped[int] = mapped_column(sa.Integer, default=0)
    accepted: Mapped[int] = mapped_column(sa.Integer, default=0)
    duplicates: Mapped[int] = mapped_column(sa.Integer, default=0)
    merged: Mapped[int] = mapped_column(sa.Integer, default=0)
    rejected: Mapped[int] = mapped_column(sa.Integer, default=0)
    #: [{"line": 7, "column": "Сумма", "value": "abc", "reason": "invalid amount"}, …]
    errors: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    #: [{"line": 9, "id": "shop-12-r55", "merged_into": "shop-online/ord-77"}, …]
    merges: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
