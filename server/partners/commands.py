"""Commands over partners: import the spec's partners file (create or update)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from server.errors import CommandError
from server.extensions import db
from server.partners.models import (
    AttributionCode,
    CodeKind,
    Partner,
    PartnerKind,
    PartnerStatus,
    Region,
)
from server.rules.partners import PartnerDirectory


@dataclass(frozen=True)
class PartnerImportReport:
    created: int
    updated: int
    regions_created: int

    def summary(self) -> str:
        return (
            f"{self.created} partners created, {self.updated} updated, "
            f"{self.regions_created} regions created"
        )


def import_partners(directory: PartnerDirectory) -> PartnerImportReport:
    """Create or update partners (by id) with their parents and codes; one transaction.

    Unknown regions are created with their code as name. A code already owned by another
    partner, or revoked, is refused: codes are never reused.

    Raises:
        CommandError: a code belongs to another partner or was revoked.
    """
    session = db.session
    regions = {r.code: r for r in session.scalars(sa.select(Region))}
    regions_created = 0
    existing = {p.code: p for p in session.scalars(sa.select(Partner))}
    created = updated = 0
    rows: dict[str, Partner] = {}
    for info in directory:
        region_code = info.region or "—"
        if region_code not in regions:
            regions[region_code] = Region(
                code=region_code, name_ru=region_code, name_en=region_code
            )
            session.add(regions[region_code])
            regions_created += 1
        partner = existing.get(info.id)
        if partner is None:
            partner = Partner(code=info.id, name=info.id)
            session.add(partner)
            created += 1
        else:
            updated += 1
        partner.kind = PartnerKind(info.type.value)
        partner.status = PartnerStatus(info.status.value)
        partner.region = regions[region_code]
        partner.customer_ref = info.customer_ref
        partner.tags = sorted(info.tags) or None
        rows[info.id] = partner
    session.flush()
    for info in directory:
        if info.parent is None:
            rows[info.id].parent = None
            continue
        parent = rows.get(info.parent) or existing.get(info.parent)
        if parent is None:
            session.rollback()
            raise CommandError(
                _l(
                    "Partner %(partner)s: unknown parent %(parent)s.",
                    partner=info.id,
                    parent=info.parent,
                )
            )
        rows[info.id].parent = parent
    owned = {c.code: c for c in session.scalars(sa.select(AttributionCode))}
    for info in directory:
        partner = rows[info.id]
        for kind, codes in info.codes.items():
            for code in codes:
                current = owned.get(code)
                if current is None:
                    row = AttributionCode(partner=partner, kind=CodeKind(kind), code=code)
                    session.add(row)
                    owned[code] = row
                elif current.partner_id != partner.id or current.kind.value != kind:
                    session.rollback()
                    raise CommandError(
                        _l(
                            "Code %(code)s already belongs to another partner or kind.",
                            code=code,
                        )
                    )
                elif current.status.value != "active":
                    session.rollback()
                    raise CommandError(
                        _l("Code %(code)s was revoked and cannot be reused.", code=code)
                    )
    session.commit()
    return PartnerImportReport(created, updated, regions_created)
