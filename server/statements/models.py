"""Period closes and the partners' statements they produce.

A recorded period close is the instant that fixes which ledger rows its statements show.

The ledger is append-only, so a close needs no flag on accruals: a statement of close
``C`` shows the rows created up to ``C.closed_at`` whose instant falls before the end of
``C``'s period, minus those an earlier close already showed. A row written later for a
closed period therefore lands in the next statement, as an adjustment.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.types import Money, UTCDateTime, str_enum, utcnow
from server.partners.models import Partner


class PeriodClose(Model):
    """One closed period (monthly or on demand); periods never overlap."""

    __tablename__ = "period_closes"
    __table_args__ = (sa.UniqueConstraint("period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date, index=True)
    #: the instant the close took: rows created after it belong to later statements
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id"))
    timezone: Mapped[str] = mapped_column(sa.String(64))

    def __str__(self) -> str:
        return f"{self.period_start.isoformat()} – {self.period_end.isoformat()}"


class StatementStatus(str, enum.Enum):
    pending = "pending"
    ready = "ready"
    failed = "failed"


class Statement(Model):
    """A partner's statement for a closed period, rendered once and kept immutable."""

    __tablename__ = "statements"
    __table_args__ = (sa.UniqueConstraint("partner_id", "period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    period_start: Mapped[date] = mapped_column(sa.Date)
    period_end: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[StatementStatus] = mapped_column(
        str_enum(StatementStatus), default=StatementStatus.pending
    )
    opening_balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    closing_balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    totals: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    file_path: Mapped[str | None] = mapped_column(sa.String(500))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    partner: Mapped[Partner] = relationship()
