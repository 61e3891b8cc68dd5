"""The rules engine's evaluation state, kept in the database for the workers.

:class:`DatabaseState` implements :class:`server.rules.state.EvaluationState`. A batch
prefetches, in one query per table, every row its events can touch, evaluates against
memory, and :meth:`DatabaseState.write` adds the changes to the batch's transaction.

Two kinds of batch use it (docs/ledger.md). Admission's state is the deployment's:
claimed ids, customers' sales, the sale registry (``eval_sales``). A program's state is
its own: its period figures and its record of each sale's reversible accruals
(``eval_program_sales``). Admission batches are serialized by the evaluation lock, a
program's batches by its progress row, so no other writer changes a batch's rows
between prefetch and commit.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from server.db.bulk import insert_rows, one_of, update_rows, value_chunks
from server.ledger.models import (
    CustomerSale,
    EvaluatedEventId,
    PeriodFiguresRow,
    ProgramSaleRow,
    SaleRegistryRow,
)
from server.rules.state import PeriodFigures, PeriodKey, ReversibleAccrual, SaleRecord


def _accrual_to_json(accrual: ReversibleAccrual) -> dict[str, Any]:
    return {
        "rule": accrual.rule,
        "partner": accrual.partner,
        "kind": accrual.kind,
        "status": accrual.status,
        "amount": str(accrual.amount),
        "points": accrual.points,
        "level": accrual.level,
        "reason": accrual.reason,
        "reversed_amount": str(accrual.reversed_amount),
        "reversed_points": accrual.reversed_points,
        "program": accrual.program,
    }


def _accrual_from_json(data: dict[str, Any]) -> ReversibleAccrual:
    return ReversibleAccrual(
        rule=data["rule"],
        partner=data["partner"],
        kind=data["kind"],
        status=data["status"],
        amount=Decimal(data["amount"]),
        points=int(data["points"]),
        level=data["level"],
        reason=data["reason"],
        reversed_amount=Decimal(data["reversed_amount"]),
        reversed_points=int(data["reversed_points"]),
        program=data.get("program"),  # absent in rows written before several programs
    )


class DatabaseState:
    """Evaluation state for one batch: prefetched rows, changes written at the end.

    ``program_id`` is ``None`` for admission (the deployment's sale registry, with the
    program versions each sale was admitted to in :attr:`sale_versions`) and a
    program's id for that program's batch (its own record of the sales).
    """

    def __init__(self, session: Session, program_id: int | None = None) -> None:
        self.session = session
        self.program_id = program_id
        #: sale id → {program id (text): version id} (admission only)
        self.sale_versions: dict[str, dict[str, int | None]] = {}
        self._seen: set[str] = set()
        self._new_ids: list[str] = []
        self._customer_sales: dict[str, list[int]] = {}
        self._new_customer_sales: list[tuple[str, int]] = []
        self._figures: dict[PeriodKey, PeriodFigures] = {}
        self._figures_known: set[PeriodKey] = set()
        self._dirty_figures: set[PeriodKey] = set()
        self._sales: dict[str, SaleRecord] = {}
        self._sales_known: set[str] = set()
        self._dirty_sales: set[str] = set()

    # prefetch ------------------------------------------------------------------------

    def prefetch(
        self,
        event_ids: Iterable[str],
        customers: Iterable[str],
        partners: Iterable[str],
        periods: Iterable[str],
        sale_ids: Iterable[str],
    ) -> None:
        """Load every row a batch may read. Anything not loaded is taken as absent."""
        session = self.session
        for chunk in value_chunks(session, event_ids):
            self._seen.update(
                session.scalars(
                    sa.select(EvaluatedEventId.event_id).where(
                        one_of(session, EvaluatedEventId.event_id, chunk)
                    )
                )
            )
        for chunk in value_chunks(session, customers):
            for customer in chunk:
                self._customer_sales.setdefault(customer, [])
            rows = session.execute(
                sa.select(CustomerSale.customer, CustomerSale.at_us).where(
                    one_of(session, CustomerSale.customer, chunk)
                )
            )
            for customer, at_us in rows:
                self._customer_sales[customer].append(at_us)
        for times in self._customer_sales.values():
            times.sort()
        period_list = sorted(set(periods))
        for chunk in value_chunks(session, partners):
            figures = session.scalars(
                sa.select(PeriodFiguresRow).where(
                    one_of(session, PeriodFiguresRow.partner, chunk),
                    one_of(session, PeriodFiguresRow.period, period_list),
                )
            )
            for row in figures:
                key = PeriodKey(row.rule, row.partner, row.period)
                self._figures[key] = PeriodFigures(
                    row.sales_amount, row.sales_count, row.new_customers, row.goal_paid
                )
                self._figures_known.add(key)
        self._prefetched_partners = set(partners)
        self._prefetched_periods = set(period_list)
        for chunk in value_chunks(session, sale_ids):
            sales: Iterable[SaleRegistryRow | ProgramSaleRow]
            if self.program_id is None:
                sales = session.scalars(
                    sa.select(SaleRegistryRow).where(
                        one_of(session, SaleRegistryRow.sale_id, chunk)
                    )
                )
            else:
                sales = session.scalars(
                    sa.select(ProgramSaleRow).where(
                        ProgramSaleRow.program_id == self.program_id,
                        one_of(session, ProgramSaleRow.sale_id, chunk),
                    )
                )
            for row in sales:
                self._sales[row.sale_id] = SaleRecord(
                    id=row.sale_id,
                    partner=row.partner,
                    amount=row.amount,
                    refunded=row.refunded,
                    accruals=tuple(_accrual_from_json(item) for item in row.accruals),
                )
                self._sales_known.add(row.sale_id)
                if isinstance(row, SaleRegistryRow):
                    self.sale_versions[row.sale_id] = dict(row.versions or {})
        self._prefetched_customers = set(self._customer_sales)

    # EvaluationState -----------------------------------------------------------------

    def claim_event_id(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen.add(event_id)
        self._new_ids.append(event_id)
        return True

    def record_customer_sale(self, customer: str, at_us: int) -> bool:
        self._require(customer in self._prefetched_customers, "customer", customer)
        times = self._customer_sales.setdefault(customer, [])
        first = not times
        bisect.insort(times, at_us)
        self._new_customer_sales.append((customer, at_us))
        return first

    def count_customer_sales(self, customer: str, after_us: Decimal, until_us: int) -> int:
        self._require(customer in self._prefetched_customers, "customer", customer)
        times = self._customer_sales.get(customer, [])
        low = int(after_us.to_integral_value(rounding=ROUND_FLOOR)) + 1
        return bisect.bisect_right(times, until_us) - bisect.bisect_left(times, low)

    def period_figures(self, key: PeriodKey) -> PeriodFigures:
        self._require(
            key.partner in self._prefetched_partners and key.period in self._prefetched_periods,
            "period figures",
            str(key),
        )
        return self._figures.get(key) or PeriodFigures()

    def save_period_figures(self, key: PeriodKey, figures: PeriodFigures) -> None:
        self._figures[key] = figures
        self._dirty_figures.add(key)

    def find_sale(self, sale_id: str) -> SaleRecord | None:
        return self._sales.get(sale_id)

    def save_sale(self, sale: SaleRecord) -> None:
        self._sales[sale.id] = sale
        self._dirty_sales.add(sale.id)

    # write ---------------------------------------------------------------------------

    def write(self) -> None:
        """Add every change of the batch to the session (the caller commits).

        One executemany per table and kind of change: a batch writes thousands of rows.
        """
        session = self.session
        if self._new_ids:
            insert_rows(
                session, EvaluatedEventId.__table__, [{"event_id": i} for i in self._new_ids]
            )
        if self._new_customer_sales:
            insert_rows(
                session,
                CustomerSale.__table__,
                [{"customer": c, "at_us": t} for c, t in self._new_customer_sales],
            )
        new_figures: list[dict[str, Any]] = []
        changed_figures: list[dict[str, Any]] = []
        for key in self._dirty_figures:
            figures = self._figures[key]
            values = {
                "rule": key.rule,
                "partner": key.partner,
                "period": key.period,
                "sales_amount": figures.sales_amount,
                "sales_count": figures.sales_count,
                "new_customers": figures.new_customers,
                "goal_paid": figures.goal_paid,
            }
            (changed_figures if key in self._figures_known else new_figures).append(values)
        if new_figures:
            insert_rows(session, PeriodFiguresRow.__table__, new_figures)
        if changed_figures:
            update_rows(
                session,
                PeriodFiguresRow.__table__,
                changed_figures,
                keys=("rule", "partner", "period"),
            )
        new_sales: list[dict[str, Any]] = []
        changed_sales: list[dict[str, Any]] = []
        for sale_id in self._dirty_sales:
            sale = self._sales[sale_id]
            values = {
                "sale_id": sale_id,
                "partner": sale.partner,
                "amount": sale.amount,
                "refunded": sale.refunded,
                "accruals": [_accrual_to_json(a) for a in sale.accruals],
            }
            if self.program_id is not None:
                values["program_id"] = self.program_id
            elif sale_id not in self._sales_known:
                values["versions"] = self.sale_versions.get(sale_id)
            (changed_sales if sale_id in self._sales_known else new_sales).append(values)
        table = SaleRegistryRow.__table__ if self.program_id is None else ProgramSaleRow.__table__
        keys = ("sale_id",) if self.program_id is None else ("program_id", "sale_id")
        if new_sales:
            insert_rows(session, table, new_sales)
        if changed_sales:
            update_rows(session, table, changed_sales, keys=keys)

    @staticmethod
    def _require(condition: bool, what: str, key: str) -> None:
        if not condition:
            # A read outside the prefetch would silently see "absent": fail the batch.
            raise RuntimeError(f"evaluation state: {what} {key!r} was not prefetched")
