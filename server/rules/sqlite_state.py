""":class:`EvaluationState` in a temporary SQLite file, for very large simulations.

A million events would need hundreds of megabytes in :class:`~server.rules.state.MemoryState`
(ids, customers, the sales registry); here they live on disk behind SQLite's bounded page
cache, so memory stays flat. The file is private to one run: no durability is needed,
so journaling and syncing are off.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from decimal import Decimal

from server.rules.state import PeriodFigures, PeriodKey, ReversibleAccrual, SaleRecord

_SCHEMA = """
CREATE TABLE seen (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE customer_sales (customer TEXT NOT NULL, at_us INTEGER NOT NULL);
CREATE INDEX customer_sales_by_time ON customer_sales (customer, at_us);
CREATE TABLE figures (
    rule TEXT NOT NULL, partner TEXT NOT NULL, period TEXT NOT NULL,
    sales_amount TEXT NOT NULL, sales_count INTEGER NOT NULL,
    new_customers INTEGER NOT NULL, goal_paid INTEGER NOT NULL,
    PRIMARY KEY (rule, partner, period)
) WITHOUT ROWID;
CREATE TABLE sales (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
"""


class SqliteState:
    """Evaluation state in a temporary SQLite database (deleted by :meth:`close`)."""

    def __init__(self, directory: str | None = None, cache_mb: int = 64) -> None:
        handle, self.path = tempfile.mkstemp(prefix="pf-state-", suffix=".sqlite", dir=directory)
        os.close(handle)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=MEMORY;"
            f"PRAGMA cache_size=-{cache_mb * 1024};" + _SCHEMA
        )
        # One long transaction: nothing here needs to survive a crash.
        self._db.execute("BEGIN")

    def close(self) -> None:
        """Drop the database file."""
        self._db.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def __enter__(self) -> SqliteState:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def claim_event_id(self, event_id: str) -> bool:
        cursor = self._db.execute("INSERT OR IGNORE INTO seen (id) VALUES (?)", (event_id,))
        return cursor.rowcount == 1

    def record_customer_sale(self, customer: str, at_us: int) -> bool:
        first = (
            self._db.execute(
                "SELECT 1 FROM customer_sales WHERE customer = ? LIMIT 1", (customer,)
            ).fetchone()
            is None
        )
        self._db.execute(
            "INSERT INTO customer_sales (customer, at_us) VALUES (?, ?)", (customer, at_us)
        )
        return first

    def count_customer_sales(self, customer: str, after_us: Decimal, until_us: int) -> int:
        low = int(after_us.to_integral_value(rounding="ROUND_FLOOR")) + 1
        row = self._db.execute(
            "SELECT count(*) FROM customer_sales WHERE customer = ? AND at_us BETWEEN ? AND ?",
            (customer, low, until_us),
        ).fetchone()
        return int(row[0])

    def period_figures(self, key: PeriodKey) -> PeriodFigures:
        row = self._db.execute(
            "SELECT sales_amount, sales_count, new_customers, goal_paid FROM figures "
            "WHERE rule = ? AND partner = ? AND period = ?",
            tuple(key),
        ).fetchone()
        if row is None:
            return PeriodFigures()
        return PeriodFigures(Decimal(row[0]), row[1], row[2], bool(row[3]))

    def save_period_figures(self, key: PeriodKey, figures: PeriodFigures) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO figures VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                *key,
                str(figures.sales_amount),
                figures.sales_count,
                figures.new_customers,
                int(figures.goal_paid),
            ),
        )

    def find_sale(self, sale_id: str) -> SaleRecord | None:
        row = self._db.execute("SELECT body FROM sales WHERE id = ?", (sale_id,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return SaleRecord(
            id=sale_id,
            partner=data["p"],
            amount=Decimal(data["a"]),
            refunded=Decimal(data["r"]),
            accruals=tuple(
                ReversibleAccrual(
                    rule=a[0],
                    partner=a[1],
                    kind=a[2],
                    status=a[3],
                    amount=Decimal(a[4]),
                    points=a[5],
                    level=a[6],
                    reason=a[7],
                    reversed_amount=Decimal(a[8]),
                    reversed_points=a[9],
                    program=a[10],
                )
                for a in data["x"]
            ),
        )

    def save_sale(self, sale: SaleRecord) -> None:
        body = {
            "p": sale.partner,
            "a": str(sale.amount),
            "r": str(sale.refunded),
            "x": [
                [
                    a.rule,
                    a.partner,
                    a.kind,
                    a.status,
                    str(a.amount),
                    a.points,
                    a.level,
                    a.reason,
                    str(a.reversed_amount),
                    a.reversed_points,
                    a.program,
                ]
                for a in sale.accruals
            ],
        }
        self._db.execute(
            "INSERT OR REPLACE INTO sales (id, body) VALUES (?, ?)",
            (sale.id, json.dumps(body, separators=(",", ":"))),
        )
