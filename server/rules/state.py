"""What evaluation remembers between events, behind a small explicit interface.

:class:`EvaluationState` is what the evaluator needs: seen event ids, customers' sales
(first purchase, velocity), per (rule, partner, period) figures and the registry of sales
for refunds. :class:`MemoryState` keeps it in dictionaries (simulations, tests);
:class:`server.rules.sqlite_state.SqliteState` in a temporary SQLite file (very large
simulations); a database-backed implementation serves the workers.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, Protocol


class PeriodKey(NamedTuple):
    """Figures are kept per rule, credited partner and period label (``2026-03``, ``2026-Q1``)."""

    rule: str
    partner: str
    period: str


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """A rule's figures for one partner and period: what matched its scope so far."""

    sales_amount: Decimal = Decimal(0)
    sales_count: int = 0
    new_customers: int = 0
    goal_paid: bool = False


@dataclass(frozen=True, slots=True)
class ReversibleAccrual:
    """An accrual a refund can reverse, with how much was reversed already."""

    rule: str
    partner: str
    kind: str
    status: str
    amount: Decimal
    points: int
    level: int | None = None
    reason: str | None = None
    reversed_amount: Decimal = Decimal(0)
    reversed_points: int = 0
    #: the slug of the program that produced it (``None`` in records made before §6)
    program: str | None = None


@dataclass(frozen=True, slots=True)
class SaleRecord:
    """An accepted sale as refunds see it; accruals of every program, in output order."""

    id: str
    partner: str
    amount: Decimal
    refunded: Decimal = Decimal(0)
    accruals: tuple[ReversibleAccrual, ...] = field(default_factory=tuple)


class EvaluationState(Protocol):
    """Storage for evaluation; every method is called in processing order."""

    def claim_event_id(self, event_id: str) -> bool:
        """Record ``event_id``; ``False`` if it was recorded before (a duplicate)."""
        ...

    def record_customer_sale(self, customer: str, at_us: int) -> bool:
        """Record an accepted sale of ``customer``; ``True`` if it is their first ever."""
        ...

    def count_customer_sales(self, customer: str, after_us: Decimal, until_us: int) -> int:
        """How many recorded sales of ``customer`` have a time in ``(after_us, until_us]``."""
        ...

    def period_figures(self, key: PeriodKey) -> PeriodFigures:
        """The figures for ``key`` (zeros if none were saved)."""
        ...

    def save_period_figures(self, key: PeriodKey, figures: PeriodFigures) -> None:
        """Replace the figures for ``key``."""
        ...

    def find_sale(self, sale_id: str) -> SaleRecord | None:
        """The accepted sale with this id, or ``None``."""
        ...

    def save_sale(self, sale: SaleRecord) -> None:
        """Register an accepted sale, or replace it after a refund."""
        ...


class MemoryState:
    """:class:`EvaluationState` in dictionaries; memory grows with the events seen."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._customer_sales: dict[str, list[int]] = {}
        self._figures: dict[PeriodKey, PeriodFigures] = {}
        self._sales: dict[str, SaleRecord] = {}

    def claim_event_id(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen.add(event_id)
        return True

    def record_customer_sale(self, customer: str, at_us: int) -> bool:
        times = self._customer_sales.get(customer)
        if times is None:
            self._customer_sales[customer] = [at_us]
            return True
        bisect.insort(times, at_us)
        return False

    def count_customer_sales(self, customer: str, after_us: Decimal, until_us: int) -> int:
        times = self._customer_sales.get(customer, [])
        # Times are integers: (after, until] == [floor(after) + 1, until].
        low = int(after_us.to_integral_value(rounding="ROUND_FLOOR")) + 1
        return bisect.bisect_right(times, until_us) - bisect.bisect_left(times, low)

    def period_figures(self, key: PeriodKey) -> PeriodFigures:
        return self._figures.get(key) or PeriodFigures()

    def save_period_figures(self, key: PeriodKey, figures: PeriodFigures) -> None:
        self._figures[key] = figures

    def find_sale(self, sale_id: str) -> SaleRecord | None:
        return self._sales.get(sale_id)

    def save_sale(self, sale: SaleRecord) -> None:
        self._sales[sale.id] = sale
