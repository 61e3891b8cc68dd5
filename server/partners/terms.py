"""Regional terms: add a new version (never edit one in place) and find the one in force.

A region's terms are a series of versions, each with an ``effective_from`` date (and
optionally an ``effective_to``). The version in force on a date is the *highest version*
whose dates cover it, so a correction is a new version with the same start date, and a
change of terms is a new version with a later start: older versions stay as they were,
because contracts were rendered from them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from server.audit.commands import record
from server.db.types import MONEY_LIMIT, to_money
from server.errors import CommandError
from server.extensions import db
from server.partners.models import Region, RegionalTerms
from server.programs.models import ProgramVersion, VersionStatus

#: languages a contract can be written in
CONTRACT_LANGUAGES = ("ru", "en")
#: longest payment term accepted, in days
MAX_PAYMENT_TERMS_DAYS = 365


@dataclass(frozen=True)
class TermsDraft:
    """The content of a new terms version (everything but region and version number)."""

    effective_from: date
    payment_terms_days: int
    minimum_payout: Decimal
    governing_law: str
    contract_language: str = "ru"
    effective_to: date | None = None
    exclusive_rights: str | None = None
    training_support: str | None = None
    marketing_support: str | None = None
    loyalty_and_events: str | None = None
    court: str | None = None
    contract_city: str | None = None
    program_version_id: int | None = None


def _problems(draft: TermsDraft) -> list[str]:
    problems = []
    if not 0 < draft.payment_terms_days <= MAX_PAYMENT_TERMS_DAYS:
        problems.append(f"payment terms must be 1 to {MAX_PAYMENT_TERMS_DAYS} days")
    minimum = Decimal(draft.minimum_payout)
    if not minimum.is_finite():
        problems.append("the minimum payout must be a number")
    elif minimum < 0:
        problems.append("the minimum payout cannot be negative")
    elif minimum >= MONEY_LIMIT or to_money(minimum) >= MONEY_LIMIT:
        # a money column keeps less (server/db/types.py): refused here, not by a 500
        problems.append(f"the minimum payout must be below {MONEY_LIMIT:,}")
    if draft.contract_language not in CONTRACT_LANGUAGES:
        problems.append(f"the contract language must be one of {', '.join(CONTRACT_LANGUAGES)}")
    if draft.effective_to is not None and draft.effective_to < draft.effective_from:
        problems.append("the terms cannot end before they start")
    if not draft.governing_law.strip():
        problems.append("the governing law is required")
    return problems


def add_terms_version(
    region_code: str, draft: TermsDraft, actor_id: int | None = None
) -> RegionalTerms:
    """Store ``draft`` as the region's next terms version and commit.

    Raises:
        CommandError: the region is unknown, the draft is invalid, or the program
            version it names does not exist or is not published.
    """
    region = db.session.scalar(sa.select(Region).where(Region.code == region_code))
    if region is None:
        raise CommandError(_l("Unknown region %(region)s.", region=region_code))
    problems = _problems(draft)
    if draft.program_version_id is not None:
        version = db.session.get(ProgramVersion, draft.program_version_id)
        if version is None or version.status is not VersionStatus.published:
            problems.append("the program version must exist and be published")
    if problems:
        raise CommandError("Regional terms: " + "; ".join(problems) + ".")
    number = (
        db.session.scalar(
            sa.select(sa.func.max(RegionalTerms.version)).where(
                RegionalTerms.region_id == region.id
            )
        )
        or 0
    ) + 1
    terms = RegionalTerms(
        region_id=region.id,
        version=number,
        **{**asdict(draft), "minimum_payout": to_money(draft.minimum_payout)},
    )
    db.session.add(terms)
    db.session.flush()
    record(actor_id, "terms.add_version", "regional_terms", terms.id, after=terms_summary(terms))
    db.session.commit()
    return terms


def terms_in_force(region_id: int, on: date) -> RegionalTerms | None:
    """The region's terms in force on ``on``: the highest version whose dates cover it."""
    return db.session.scalar(
        sa.select(RegionalTerms)
        .where(
            RegionalTerms.region_id == region_id,
            RegionalTerms.effective_from <= on,
            sa.or_(RegionalTerms.effective_to.is_(None), RegionalTerms.effective_to >= on),
        )
        .order_by(RegionalTerms.version.desc())
        .limit(1)
    )


def terms_in_force_for_code(region_code: str, on: date) -> RegionalTerms | None:
    """:func:`terms_in_force` by region code; None for an unknown region."""
    region_id = db.session.scalar(sa.select(Region.id).where(Region.code == region_code))
    return None if region_id is None else terms_in_force(region_id, on)


def terms_summary(terms: RegionalTerms) -> dict[str, Any]:
    """Plain data of a terms version (JSON-ready: dates ISO, money as decimal text)."""
    return {
        "version": terms.version,
        "effective_from": terms.effective_from.isoformat(),
        "effective_to": terms.effective_to.isoformat() if terms.effective_to else None,
        "payment_terms_days": terms.payment_terms_days,
        "minimum_payout": str(to_money(terms.minimum_payout)),
        "exclusive_rights": terms.exclusive_rights,
        "training_support": terms.training_support,
        "marketing_support": terms.marketing_support,
        "loyalty_and_events": terms.loyalty_and_events,
        "governing_law": terms.governing_law,
        "court": terms.court,
        "contract_city": terms.contract_city,
        "contract_language": terms.contract_language,
        "program_version_id": terms.program_version_id,
    }
