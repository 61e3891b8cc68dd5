"""References enforced by triggers instead of foreign keys, on PostgreSQL only.

The accruals' references to partners, events, rule instances and program versions are
declared as foreign keys on the models (SQLite has them; the ORM's relationships use
them), but on PostgreSQL migration ``0ed2610c8699`` replaces them with statement-level
triggers that give the same guarantees with one set-based check per statement instead
of one per row: an evaluation batch writes ~7,500 accruals in one ``COPY``, and the
row-level checks made the end of that ``COPY`` a fifth of its wall time (docs/benchmarks.md,
docs/ingestion.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: (table, column) pairs whose foreign key PostgreSQL enforces by trigger
TRIGGER_CHECKED = frozenset(
    {
        ("accruals", "partner_id"),
        ("accruals", "event_id"),
        ("accruals", "rule_instance_id"),
        ("accruals", "program_version_id"),
    }
)


def schema_comparison_filter(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for ``dialect``: on PostgreSQL, the models' foreign
    keys that triggers replace are left out of the comparison with the database."""

    def include(obj: Any, _name: str | None, kind: str, _reflected: bool, _other: Any) -> bool:
        if dialect != "postgresql" or kind != "foreign_key_constraint":
            return True
        columns = [column.name for column in obj.columns]
        return not (len(columns) == 1 and (obj.table.name, columns[0]) in TRIGGER_CHECKED)

    return include
