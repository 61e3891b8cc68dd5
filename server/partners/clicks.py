"""Visits through attribution codes: a click on a referral link or a scan of a QR code.

A row is written per visit by :func:`server.partners.codes.record_visit`; the table only
grows. It records what the visitor's browser told us and nothing that identifies them
(no IP address): user agent and referrer, both cut to their column's length.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.types import UTCDateTime, str_enum, utcnow
from server.partners.models import AttributionCode

#: column lengths; longer header values are cut, never refused
USER_AGENT_LENGTH = 500
REFERRER_LENGTH = 1000


class VisitKind(str, enum.Enum):
    #: a referral link or promo link opened (``/r/<code>``)
    click = "click"
    #: an offline point's QR code scanned (``/q/<token>``)
    scan = "scan"


class CodeClick(Model):
    """One visit through an attribution code."""

    __tablename__ = "code_clicks"
    __table_args__ = (sa.Index("ix_code_clicks_code_at", "code_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int] = mapped_column(sa.ForeignKey("attribution_codes.id"))
    kind: Mapped[VisitKind] = mapped_column(str_enum(VisitKind))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str | None] = mapped_column(sa.String(USER_AGENT_LENGTH))
    referrer: Mapped[str | None] = mapped_column(sa.String(REFERRER_LENGTH))

    code: Mapped[AttributionCode] = relationship()

    def __str__(self) -> str:
        return f"{self.kind.value} {self.code_id} {self.at:%Y-%m-%d %H:%M}"
