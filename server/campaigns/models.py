"""Campaigns and their lifecycle."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from server.db.types import Money, UTCDateTime, str_enum, utcnow


class CampaignKind(str, enum.Enum):
    seasonal = "seasonal"
    offline_event = "offline_event"
    promo_push = "promo_push"


class CampaignStatus(str, enum.Enum):
    plan = "plan"
    approved = "approved"
    running = "running"
    paused = "paused"
    closed = "closed"


class Campaign(Model):
    """A campaign: its period, regions, channels, place and budget cap.

    ``running_since`` and ``closed_at`` record when the lifecycle's
    ``set_campaign_status`` action first set the status to ``running`` and to
    ``closed`` (each set once, never moved: the ledger is never recomputed, so a
    window that moved later would make earlier and later evaluations disagree). The
    campaign's rules pay only for events that occurred in between
    (:mod:`server.campaigns.window`).
    """

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[CampaignKind] = mapped_column(str_enum(CampaignKind))
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus), default=CampaignStatus.plan
    )
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    regions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    place: Mapped[str | None] = mapped_column(sa.String(300))
    budget: Mapped[Decimal | None] = mapped_column(Money)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: the program the campaign is for (its partners, its holds)
    program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id"))
    #: the campaign's own small program holding its rules (None: composed before
    #: campaigns had one; their rule is in ``program_id``'s versions)
    rules_program_id: Mapped[int | None] = mapped_column(sa.ForeignKey("programs.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when the status first became ``running`` (None: never launched)
    running_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the status first became ``closed`` (None: not closed)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __str__(self) -> str:
        return self.title
