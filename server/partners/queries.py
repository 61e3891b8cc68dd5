"""Read-only queries over partners."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.partners.models import AttributionCode, CodeStatus, Partner
from server.rules.partners import PartnerDirectory, PartnerInfo, PartnerStatus, PartnerType


def partner_directory() -> PartnerDirectory:
    """Every partner with its active codes, as the rules engine sees them."""
    partners = db.session.scalars(
        sa.select(Partner).options(selectinload(Partner.region), selectinload(Partner.parent))
    ).all()
    codes: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for code in db.session.scalars(
        sa.select(AttributionCode).where(AttributionCode.status == CodeStatus.active)
    ):
        codes[code.partner_id][code.kind.value].append(code.code)
    return PartnerDirectory(
        [
            PartnerInfo(
                id=partner.code,
                type=PartnerType(partner.kind.value),
                region=partner.region.code if partner.region else None,
                parent=partner.parent.code if partner.parent else None,
                status=PartnerStatus(partner.status.value),
                customer_ref=partner.customer_ref,
                codes={kind: tuple(values) for kind, values in codes[partner.id].items()},
                tags=frozenset(partner.tags or ()),
            )
            for partner in partners
        ]
    )


def partner_tags() -> list[str]:
    """Every tag some partner carries, sorted (the enrolment editor's choices)."""
    tags: set[str] = set()
    for row in db.session.scalars(sa.select(Partner.tags).where(Partner.tags.is_not(None))):
        tags.update(row or ())
    return sorted(tags)
