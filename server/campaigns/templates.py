"""Campaign templates: what composing a campaign of each kind creates (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from server.campaigns.models import CampaignKind


@dataclass(frozen=True)
class CampaignTemplate:
    """Defaults and requirements of a campaign kind.

    ``channels`` is the bonus rule's default channel scope; ``needs_place`` asks for a
    place (an exhibition, a joint event); ``issues_promo_codes`` gives each chosen
    partner a promo code linked to the campaign; ``partners_in_scope`` restricts the
    bonus to the chosen partners (the co-factors taking part in an offline event).
    """

    kind: CampaignKind
    default_rate: Decimal
    channels: tuple[str, ...]
    needs_place: bool
    issues_promo_codes: bool
    partners_in_scope: bool


CAMPAIGN_TEMPLATES: dict[CampaignKind, CampaignTemplate] = {
    CampaignKind.seasonal: CampaignTemplate(
        CampaignKind.seasonal, Decimal("2"), (), False, False, False
    ),
    CampaignKind.offline_event: CampaignTemplate(
        CampaignKind.offline_event, Decimal("3"), ("offline",), True, False, True
    ),
    CampaignKind.promo_push: CampaignTemplate(
        CampaignKind.promo_push, Decimal("2"), ("online",), False, True, False
    ),
}
