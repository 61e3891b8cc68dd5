"""When a campaign's rules pay: the instants its status was ``running``.

A campaign's rules (the rule instances carrying its ``campaign_id``) pay only for
events that **occurred** while the campaign was running: from ``running_since``
(inclusive) to ``closed_at`` (exclusive), except while it was paused. A campaign
never launched pays nothing, also once closed. The pauses are kept in the campaign's
``details["pauses"]``: ``[paused_at, resumed_at]`` pairs of ISO instants, the last one
open (``resumed_at`` None) while the campaign is paused. The instants are the ones the
lifecycle's ``set_campaign_status`` action recorded together with the status
(:mod:`server.workflows.actions`), so the ledger sees the same lifecycle as the boards
and the lists.

The gate is applied by the evaluation batch, with the budget cap, in
:class:`server.campaigns.budget.BudgetCaps`; the engine never learns about campaigns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.campaigns.models import Campaign
from server.programs.models import RuleInstance


@dataclass(frozen=True)
class RunningWindow:
    """The instants a campaign ran: ``[running_since, closed_at)``, open-ended while it
    runs, less its pauses (each ``[paused_at, resumed_at)``, open-ended while paused)."""

    running_since: datetime | None
    closed_at: datetime | None
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()

    def covers(self, instant: datetime | None) -> bool:
        """Whether an event that occurred at ``instant`` pays (None: unknown, never)."""
        if self.running_since is None or instant is None:
            return False
        if instant < self.running_since or (
            self.closed_at is not None and instant >= self.closed_at
        ):
            return False
        return not any(
            start <= instant and (end is None or instant < end) for start, end in self.pauses
        )


def pauses_of(details: dict[str, Any] | None) -> tuple[tuple[datetime, datetime | None], ...]:
    """The pauses recorded in a campaign's ``details`` (see the module's docstring)."""
    out = []
    for start, end in (details or {}).get("pauses", []):
        out.append((datetime.fromisoformat(start), datetime.fromisoformat(end) if end else None))
    return tuple(out)


def running_windows(session: Session) -> dict[str, RunningWindow]:
    """The running window of every campaign, by the rule keys of its rules.

    A rule key is expected to belong to one campaign; if two claim it, the later wins
    (as for budget pools).
    """
    keys = session.execute(
        sa.select(Campaign.id, RuleInstance.rule_key)
        .join(Campaign, RuleInstance.campaign_id == Campaign.id)
        .distinct()
        .order_by(Campaign.id)
    ).all()
    # the campaigns' columns apart: PostgreSQL cannot DISTINCT a JSON column
    campaigns = {
        campaign.id: campaign
        for campaign in session.scalars(
            sa.select(Campaign).where(Campaign.id.in_({cid for cid, _key in keys}))
        )
    }
    return {
        key: RunningWindow(
            campaigns[cid].running_since,
            campaigns[cid].closed_at,
            pauses_of(campaigns[cid].details),
        )
        for cid, key in keys
    }
