"""Programs, their versions and the rule instances a version is made of."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.types import UTCDateTime, str_enum, utcnow


class VersionStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Program(Model):
    """A bonus program (e.g. ``regional-2026``); its rules live in its versions."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    currency: Mapped[str] = mapped_column(sa.String(3), default="RUB")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[ProgramVersion]] = relationship(
        back_populates="program", order_by="ProgramVersion.number"
    )

    def __str__(self) -> str:
        return self.title


class ProgramVersion(Model):
    """One version of a program. Published versions are never edited."""

    __tablename__ = "program_versions"
    __table_args__ = (sa.UniqueConstraint("program_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    number: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus), default=VersionStatus.draft, index=True
    )
    effective_from: Mapped[date | None] = mapped_column(sa.Date)
    effective_to: Mapped[date | None] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.Text)
    #: who takes part (``spec/rules.md`` §6) as the program file writes it: the named
    #: keys only; ``None`` (nothing named) enrols every partner
    enrolment: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    program: Mapped[Program] = relationship(back_populates="versions")
    rules: Mapped[list[RuleInstance]] = relationship(
        back_populates="program_version",
        order_by="RuleInstance.position",
        cascade="all, delete-orphan",
    )

    @property
    def engine_name(self) -> str:
        """The durable_rules ruleset name: unique per program version."""
        return f"prog-{self.program_id}-v{self.number}"

    def __str__(self) -> str:
        # in pickers and record pages: the status in the user's language
        from server.labels import value_label

        slug = self.program.slug if self.program else "?"
        return f"{slug} v{self.number} ({value_label(self.status)})"


class RuleInstance(Model):
    """A rule of a program version: a template, its parameters and its scope."""

    __tablename__ = "rule_instances"
    __table_args__ = (sa.UniqueConstraint("program_version_id", "rule_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("program_versions.id"), index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer)
    rule_key: Mapped[str] = mapped_column(sa.String(100))
    template_key: Mapped[str] = mapped_column(sa.String(64))
    template_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    scope: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))

    program_version: Mapped[ProgramVersion] = relationship(back_populates="rules")

    def __str__(self) -> str:
        return f"{self.rule_key} ({self.template_key})"
