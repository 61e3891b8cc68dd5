"""Regions, regional terms, partners and attribution codes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db.types import Money, UTCDateTime, str_enum, utcnow
from server.partners.tags import parse_tags

if TYPE_CHECKING:
    from server.programs.models import ProgramVersion


class PartnerKind(str, enum.Enum):
    online_affiliate = "online_affiliate"
    offline_point = "offline_point"
    ambassador = "ambassador"
    cofactor = "cofactor"


class PartnerStatus(str, enum.Enum):
    onboarding = "onboarding"
    active = "active"
    suspended = "suspended"


class CodeKind(str, enum.Enum):
    promo = "promo"
    qr = "qr"
    referral = "referral"


class CodeStatus(str, enum.Enum):
    active = "active"
    revoked = "revoked"


class Region(Model):
    """A sales region with its own terms (A, B, C in the demo)."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name_ru: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Moscow")
    description: Mapped[str | None] = mapped_column(sa.Text)

    terms: Mapped[list[RegionalTerms]] = relationship(
        back_populates="region", order_by="RegionalTerms.version"
    )

    def name_in(self, language: str) -> str:
        """The region's name in ``language`` ("ru" or "en"; Russian if no English one)."""
        return (self.name_en if language == "en" else None) or self.name_ru

    def __str__(self) -> str:
        # pickers and lists show regions in the user's language
        from server.i18n import current_language

        return f"{self.code} · {self.name_in(current_language())}"


class RegionalTerms(Model):
    """One version of a region's commercial and legal terms, in force from a date."""

    __tablename__ = "regional_terms"
    __table_args__ = (sa.UniqueConstraint("region_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    effective_from: Mapped[date] = mapped_column(sa.Date)
    effective_to: Mapped[date | None] = mapped_column(sa.Date)
    payment_terms_days: Mapped[int] = mapped_column(sa.Integer, default=30)
    minimum_payout: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    exclusive_rights: Mapped[str | None] = mapped_column(sa.Text)
    training_support: Mapped[str | None] = mapped_column(sa.Text)
    marketing_support: Mapped[str | None] = mapped_column(sa.Text)
    loyalty_and_events: Mapped[str | None] = mapped_column(sa.Text)
    governing_law: Mapped[str] = mapped_column(sa.String(200), default="Российская Федерация")
    court: Mapped[str | None] = mapped_column(sa.String(300))
    #: where contracts under these terms are signed (their header's city)
    contract_city: Mapped[str | None] = mapped_column(sa.String(120))
    contract_language: Mapped[str] = mapped_column(sa.String(8), default="ru")
    program_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("program_versions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    region: Mapped[Region] = relationship(back_populates="terms")
    program_version: Mapped[ProgramVersion | None] = relationship()

    def __str__(self) -> str:
        return f"{self.region.code if self.region else '?'} v{self.version}"


class Partner(Model):
    """A partner: an online affiliate, offline point, ambassador or co-factor."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[PartnerKind] = mapped_column(str_enum(PartnerKind), index=True)
    status: Mapped[PartnerStatus] = mapped_column(
        str_enum(PartnerStatus), default=PartnerStatus.onboarding, index=True
    )
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    customer_ref: Mapped[str | None] = mapped_column(sa.String(200))
    #: segments the partner belongs to (programs' enrolment and rules' scope ``tags``)
    tags: Mapped[list[str] | None] = mapped_column(sa.JSON)
    email: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    landing_url: Mapped[str | None] = mapped_column(sa.String(500))
    # Legal details (Russian requisites) and payout details.
    legal_name: Mapped[str | None] = mapped_column(sa.String(300))
    inn: Mapped[str | None] = mapped_column(sa.String(12))
    kpp: Mapped[str | None] = mapped_column(sa.String(9))
    ogrn: Mapped[str | None] = mapped_column(sa.String(15))
    legal_address: Mapped[str | None] = mapped_column(sa.Text)
    bank_name: Mapped[str | None] = mapped_column(sa.String(300))
    bik: Mapped[str | None] = mapped_column(sa.String(9))
    settlement_account: Mapped[str | None] = mapped_column(sa.String(20))
    correspondent_account: Mapped[str | None] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    region: Mapped[Region] = relationship()
    parent: Mapped[Partner | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Partner]] = relationship(back_populates="parent")
    codes: Mapped[list[AttributionCode]] = relationship(back_populates="partner")

    @property
    def tags_text(self) -> str:
        """The tags as the partner form shows them: comma-separated, sorted."""
        return ", ".join(sorted(self.tags or ()))

    @tags_text.setter
    def tags_text(self, text: str | None) -> None:
        # the form's field: raises ValueError for a tag too long (the form refuses it first)
        self.tags = parse_tags(text)

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class AttributionCode(Model):
    """A promo code, QR token or referral link; unique forever, even once revoked."""

    __tablename__ = "attribution_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)
    kind: Mapped[CodeKind] = mapped_column(str_enum(CodeKind))
    code: Mapped[str] = mapped_column(sa.String(100), unique=True)
    status: Mapped[CodeStatus] = mapped_column(str_enum(CodeStatus), default=CodeStatus.active)
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship(back_populates="codes")

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.code}"


class PartnerUser(Model):
    """Links a portal login (a Flask-AppBuilder user) to the one partner it acts for."""

    __tablename__ = "partner_users"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("ab_user.id"), primary_key=True)
    partner_id: Mapped[int] = mapped_column(sa.ForeignKey("partners.id"), index=True)

    partner: Mapped[Partner] = relationship()


# Visits through attribution codes: a click on a referral link or a scan of a QR code.
# A row is written per visit by server.partners.codes.record_visit; the table only
# grows. It records what the visitor's browser told us and nothing that identifies them
# (no IP address): user agent and referrer, both cut to their column's length.

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
