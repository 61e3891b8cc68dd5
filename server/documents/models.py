"""Contract templates, contracts and their per-region numbering."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.types import UTCDateTime, str_enum, utcnow
from server.partners.models import Partner


class TemplateKind(str, enum.Enum):
    agreement = "agreement"
    statement = "statement"


class TemplateStatus(str, enum.Enum):
    draft = "draft"
    published = "published"
    archived = "archived"


class ContractStatus(str, enum.Enum):
    draft = "draft"
    sent = "sent"
    signed = "signed"
    terminated = "terminated"


class RenderStatus(str, enum.Enum):
    pending = "pending"
    rendered = "rendered"
    failed = "failed"


class ContractTemplate(Model):
    """A version of an HTML + CSS template that Legal edits; published ones are frozen."""

    __tablename__ = "contract_templates"
    __table_args__ = (sa.UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(100))
    version: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[TemplateKind] = mapped_column(str_enum(TemplateKind))
    language: Mapped[str] = mapped_column(sa.String(8), default="ru")
    region_code: Mapped[str | None] = mapped_column(sa.String(16))
    partner_kind: Mapped[str | None] = mapped_column(sa.String(32))
    body_html: Mapped[str] = mapped_column(sa.Text)
    css: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[TemplateStatus] = mapped_column(
        str_enum(TemplateStatus), default=TemplateStatus.draft
    )
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ab_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"


class ContractSequence(Model):
    """The last contract number issued per region and year (``A-2026-0042``)."""

    __tablename__ = "contract_sequences"

    region_code: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(sa.Integer, default=0)


class Contract(Model):
    """A partner's contract: rendered once from a template version and a data snapshot."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(32), unique=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("contract_templates.id"))
    status: Mapped[ContractStatus] = mapped_column(
        str_enum(ContractStatus), default=ContractStatus.draft
    )
    render_status: Mapped[RenderStatus] = mapped_column(
        str_enum(RenderStatus), default=RenderStatus.pending
    )
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    pdf_path: Mapped[str | None] = mapped_column(sa.String(500))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    signed_scan_path: Mapped[str | None] = mapped_column(sa.String(500))
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship()
    template: Mapped[ContractTemplate] = relationship()
