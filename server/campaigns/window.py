"""When a campaign's rules pay: the instants its status was ``running``.

A campaign's rules (the rule instances carrying its ``campaign_id``) pay only for
events that **occurred** while the campaign was running: from ``running_since``
(inclusive) to ``closed_at`` (exclusive). A campaign never launched pays nothing,
also once closed. The instants are the ones the lifecycle's ``set_campaign_status``
action recorded together with the status (:mod:`server.workflows.actions`), so the
ledger sees the same lifecycle as the boards and the lists.

The gate is applied by the evaluation batch, with the budget cap, in
:class:`server.campaigns.budget.BudgetCaps`; the engine never learns about campaigns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.campaigns.models import Campaign
from server.programs.models import RuleInstance


@dataclass(frozen=True)
class RunningWindow:
    """The instants a campaign ran: ``[running_since, closed_at)``; open-ended while it runs."""

    running_since: datetime | None
    closed_at: datetime | None

    def covers(self, instant: datetime | None) -> bool:
        """Whether an event that occurred at ``instant`` pays (None: unknown, never)."""
        if self.running_since is None or instant is None:
            return False
        return self.running_since <= instant and (
            self.closed_at is None or instant < self.closed_at
        )


def running_windows(session: Session) -> dict[str, RunningWindow]:
    """The running window of every campaign, by the rule keys of its rules.

    A rule key is expected to belong to one campaign; if two claim it, the later wins
    (as for budget pools).
    """
    rows = session.execute(
        sa.select(Campaign.id, RuleInstance.rule_key, Campaign.running_since, Campaign.closed_at)
        .join(Campaign, RuleInstance.campaign_id == Campaign.id)
        .distinct()
        .order_by(Campaign.id)
    )
    return {key: RunningWindow(since, closed) for _id, key, since, closed in rows}
