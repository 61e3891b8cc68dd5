"""Campaign budget caps (spend, the 80 % warning, the cut-off) and the running-window gate.

**Spend** of a campaign is the sum of the ``commission``, ``bonus`` and ``override``
accrual amounts (approved and held; reversals are negative rows and lower it) of the
campaign's rules, minus held accruals a manager forfeited. A campaign's rules are the
rule keys of the rule instances that carry its ``campaign_id`` in any program version.

**The cap** (``Campaign.budget``; no budget means no cap) is applied by the evaluation
batch to the accrual rows it is about to insert, in output order:

* a positive row of a capped rule is kept while the remaining budget covers it;
* the row that crosses the cap is **cut to the remaining budget** (its amount becomes
  exactly what is left; points are kept), so spend lands exactly on the budget;
* once nothing remains, further positive rows of the campaign's rules are dropped;
* a reversal (negative row, ``reverses`` set) is clamped so that it never takes back
  more than was actually booked for that sale, rule and partner (the original row may
  have been cut or dropped), and what it takes back becomes budget again.

**The running window** (:mod:`server.campaigns.window`) is applied in the same pass,
to the rules of every campaign, capped or not: a positive row of a campaign's rule
whose event occurred before the campaign's ``running_since``, at or after its
``closed_at``, or while it was never launched is dropped (with its points) before the
cap sees it, so it spends nothing. Reversals are not gated by their own date (a refund
after the close of a sale made while running takes the sale's bonus back); they are
clamped as above, so the refund of a sale whose row was dropped takes nothing back.

The engine stays pure: it never learns about budgets or campaigns, so its
month-to-date figures are the same as without a cap or a window.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from server.campaigns.models import Campaign
from server.campaigns.window import RunningWindow, running_windows
from server.ledger.models import Accrual, AccrualKind, SalesEvent
from server.programs.models import RuleInstance

#: spend share from which the manager is warned
WARNING_SHARE = Decimal("0.8")
#: accrual kinds that spend a campaign's budget
SPENDING_KINDS = (AccrualKind.commission, AccrualKind.bonus, AccrualKind.override)
ZERO = Decimal("0.00")


class BudgetLevel(str, enum.Enum):
    """Where a campaign stands against its cap."""

    no_cap = "no_cap"
    ok = "ok"
    warning = "warning"
    reached = "reached"


@dataclass(frozen=True)
class BudgetState:
    campaign_id: int
    budget: Decimal | None
    spend: Decimal
    rule_keys: frozenset[str]

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else max(self.budget - self.spend, ZERO)

    @property
    def share(self) -> Decimal | None:
        if self.budget is None or self.budget <= 0:
            return None
        return self.spend / self.budget

    @property
    def level(self) -> BudgetLevel:
        if self.budget is None:
            return BudgetLevel.no_cap
        if self.spend >= self.budget:
            return BudgetLevel.reached
        share = self.share
        if share is not None and share >= WARNING_SHARE:
            return BudgetLevel.warning
        return BudgetLevel.ok


def campaign_rule_keys(session: Session, campaign_id: int) -> frozenset[str]:
    """Rule keys of the campaign's rules in any program version."""
    return frozenset(
        session.scalars(
            sa.select(RuleInstance.rule_key)
            .where(RuleInstance.campaign_id == campaign_id)
            .distinct()
        )
    )


def budget_state(session: Session, campaign: Campaign) -> BudgetState:
    """Spend, remaining budget and warning level of one campaign."""
    return budget_states(session, [campaign])[campaign.id]


def budget_states(session: Session, campaigns: Sequence[Campaign]) -> dict[int, BudgetState]:
    """:func:`budget_state` of every campaign given, by id, in three queries whatever
    their number (the campaigns list and every evaluation batch read all of them)."""
    ids = [campaign.id for campaign in campaigns]
    keys_of: dict[int, set[str]] = {campaign_id: set() for campaign_id in ids}
    if ids:
        for campaign_id, key in session.execute(
            sa.select(RuleInstance.campaign_id, RuleInstance.rule_key)
            .where(RuleInstance.campaign_id.in_(ids))
            .distinct()
        ):
            if campaign_id is not None:  # always: the query asks for these ids
                keys_of[campaign_id].add(key)
    every_key = sorted(set().union(*keys_of.values()))
    booked: dict[str, Decimal] = {}
    forfeited: dict[str, set[tuple[int, Decimal]]] = {}
    if every_key:
        booked = {
            key: Decimal(total)
            for key, total in session.execute(
                sa.select(Accrual.rule_key, sa.func.sum(Accrual.amount))
                .where(Accrual.rule_key.in_(every_key), Accrual.kind.in_(SPENDING_KINDS))
                .group_by(Accrual.rule_key)
            )
            if key is not None
        }
        forfeit = aliased(Accrual)
        for rule_key, accrual_id, amount in session.execute(
            sa.select(forfeit.rule_key, Accrual.id, Accrual.amount)
            .join(forfeit, forfeit.reverses_accrual_id == Accrual.id)
            .where(forfeit.rule_key.in_(every_key), forfeit.kind == AccrualKind.forfeit)
            .distinct()
        ):
            if rule_key is not None:
                forfeited.setdefault(rule_key, set()).add((accrual_id, Decimal(amount)))
    states: dict[int, BudgetState] = {}
    for campaign in campaigns:
        keys = frozenset(keys_of[campaign.id])
        # an accrual forfeited under two of the campaign's keys is taken off once
        taken_off = set().union(*(forfeited.get(key, set()) for key in keys))
        spend = sum((booked.get(key, ZERO) for key in keys), ZERO) - sum(
            (amount for _, amount in taken_off), ZERO
        )
        states[campaign.id] = BudgetState(campaign.id, campaign.budget, spend, keys)
    return states


@dataclass(frozen=True)
class BudgetPools:
    """Remaining budget per capped campaign, and which rule keys draw on which."""

    remaining: dict[int, Decimal]
    pool_of: dict[str, int]

    def left_for(self, rule_key: str) -> Decimal | None:
        pool = self.pool_of.get(rule_key)
        return None if pool is None else self.remaining[pool]


def budget_pools(session: Session, on_date: date | None = None) -> BudgetPools:
    """The remaining budget of every campaign that has one, and its rule keys.

    ``on_date`` limits it to campaigns whose period includes that day (``None``: all).
    A rule key is expected to belong to one campaign; if two claim it, the later wins.
    """
    query = sa.select(Campaign).where(Campaign.budget.is_not(None)).order_by(Campaign.id)
    if on_date is not None:
        query = query.where(Campaign.starts_on <= on_date, Campaign.ends_on >= on_date)
    remaining: dict[int, Decimal] = {}
    pool_of: dict[str, int] = {}
    campaigns = session.scalars(query).all()
    for campaign_id, state in budget_states(session, campaigns).items():
        left = state.remaining
        assert left is not None
        remaining[campaign_id] = left
        for key in state.rule_keys:
            pool_of[key] = campaign_id
    return BudgetPools(remaining, pool_of)


def capped_rule_keys(session: Session, on_date: date | None = None) -> set[str]:
    """Rule keys whose campaign has spent its whole budget (their accruals stop)."""
    pools = budget_pools(session, on_date)
    return {key for key, pool in pools.pool_of.items() if pools.remaining[pool] <= 0}


def _sale_of(row: dict[str, Any]) -> str:
    """The external id of a row's event, from its ``source|id|rule|partner|level`` key."""
    head = str(row["dedupe_key"]).rsplit("|", 3)[0]
    return head.split("|", 1)[1] if "|" in head else head


@dataclass
class BudgetCaps:
    """Remaining budgets and running windows for one evaluation batch; :meth:`apply`
    filters its rows.

    Build it with :meth:`load` inside the batch's transaction (after its lock), call
    :meth:`apply` on the rows before inserting them. Built by hand without
    ``windows``, only the caps apply.
    """

    pools: BudgetPools
    session: Session | None = None
    #: the running window of each campaign rule key (gated rules)
    windows: dict[str, RunningWindow] = field(default_factory=dict)
    #: what this batch booked per (sale id, rule key, partner id), for in-batch refunds
    booked: dict[tuple[str, str, int], Decimal] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> BudgetCaps:
        return cls(budget_pools(session), session, running_windows(session))

    def _booked_in_ledger(self, sale: str, rule_key: str, partner_id: int) -> Decimal:
        if self.session is None:
            return ZERO
        original = self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Accrual.amount), 0))
            .join(SalesEvent, Accrual.event_id == SalesEvent.id)
            .where(
                SalesEvent.external_id == sale,
                Accrual.rule_key == rule_key,
                Accrual.partner_id == partner_id,
                Accrual.reverses.is_(None),
                Accrual.kind.in_(SPENDING_KINDS),
            )
        )
        reversed_ = self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Accrual.amount), 0)).where(
                Accrual.reverses == sale,
                Accrual.rule_key == rule_key,
                Accrual.partner_id == partner_id,
                Accrual.kind.in_(SPENDING_KINDS),
            )
        )
        return Decimal(original or 0) + Decimal(reversed_ or 0)

    def apply(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows with the running windows and the caps applied (see the module
        docstring); the input is not changed."""
        out: list[dict[str, Any]] = []
        for row in rows:
            key = str(row.get("rule_key"))
            pool = self.pools.pool_of.get(key)
            window = self.windows.get(key)
            if (pool is None and window is None) or row["kind"] not in SPENDING_KINDS:
                out.append(row)
                continue
            amount = Decimal(row["amount"])
            if row.get("reverses"):
                slot = (str(row["reverses"]), key, int(row["partner_id"]))
                if slot not in self.booked:
                    self.booked[slot] = self._booked_in_ledger(*slot)
                if self.booked[slot] <= 0:
                    continue  # nothing booked for the sale (dropped or taken back already)
                amount = max(amount, -self.booked[slot])
                if amount == 0 and not row.get("points"):
                    continue
                self.booked[slot] += amount
                if pool is not None:
                    self.pools.remaining[pool] -= amount
                out.append({**row, "amount": amount})
                continue
            if window is not None and not window.covers(row.get("occurred_at")):
                continue  # the event did not occur while the campaign was running
            if pool is not None:
                left = self.pools.remaining[pool]
                if amount > left:
                    amount = max(left, ZERO)
                if amount <= 0 and Decimal(row["amount"]) > 0:
                    continue
                self.pools.remaining[pool] = left - amount
            slot = (_sale_of(row), key, int(row["partner_id"]))
            self.booked[slot] = self.booked.get(slot, ZERO) + amount
            out.append({**row, "amount": amount})
        return out


def apply_budget_caps(
    rows: list[dict[str, Any]], pools: BudgetPools, session: Session | None = None
) -> list[dict[str, Any]]:
    """Shortcut for ``BudgetCaps(pools, session).apply(rows)`` (``pools`` is updated)."""
    return BudgetCaps(pools, session).apply(rows)
