"""Data for previews in the editor: a partner's would-be contract, or a seed's sample.

Nothing here writes: a preview takes no contract number (it shows ``A-2026-PREVIEW``).
"""

from __future__ import annotations

from typing import Any

from server.documents.contracts import company_details, local_today
from server.documents.models import ContractTemplate, TemplateKind
from server.documents.snapshot import agreement_snapshot
from server.documents.templates import seed_sample
from server.errors import CommandError
from server.extensions import db
from server.partners.models import Partner
from server.partners.terms import terms_in_force


def sample_data(template: ContractTemplate) -> dict[str, Any]:
    """The sample of the seed this template key came from (else one of its kind; empty
    if none), in the template's language."""
    sample = seed_sample(template.key, template.kind, template.language)
    return sample if sample is not None else {"language": template.language}


def preview_data(template: ContractTemplate, partner_id: int | None) -> dict[str, Any]:
    """What the template would receive: for an agreement and a chosen partner, the
    partner's data with the terms in force today; otherwise the seed's sample.

    Raises:
        CommandError: the partner does not exist or its region has no terms in force
            with a program version.
    """
    if template.kind is not TemplateKind.agreement or partner_id is None:
        return sample_data(template)
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        raise CommandError(f"Partner {partner_id} does not exist.")
    today = local_today(partner.region)
    terms = terms_in_force(partner.region_id, today)
    if terms is None or terms.program_version is None:
        raise CommandError(
            f"Region {partner.region.code} has no terms with a program version in force today."
        )
    # The template's language wins in a preview, so Legal can check each translation.
    return agreement_snapshot(
        number=f"{partner.region.code}-{today.year}-PREVIEW",
        issued_on=today,
        partner=partner,
        terms=terms,
        program_version=terms.program_version,
        company=company_details(),
        language=template.language,
    )
