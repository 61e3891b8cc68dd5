"""A recorded period close: the instant that fixes which ledger rows its statements show.

The ledger is append-only, so a close needs no flag on accruals: a statement of close
``C`` shows the rows created up to ``C.closed_at`` whose instant falls before the end of
``C``'s period, minus those an earlier close already showed. A row written later for a
closed period therefore lands in the next statement, as an adjustment.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from server.db.types import UTCDateTime, utcnow


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
