"""Contract numbers per region and year (``A-2026-0042``), allocated atomically.

One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement both creates the year's
counter and increments it; the row stays locked until the caller's transaction ends,
so two workers never get the same number (PostgreSQL locks the row; SQLite takes the
database write lock). A rolled-back transaction gives its number back.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from server.documents.models import ContractSequence
from server.extensions import db

#: digits of the running number (more are used when a year passes 9999 contracts)
NUMBER_DIGITS = 4


def format_contract_number(region_code: str, year: int, number: int) -> str:
    """``("A", 2026, 42)`` → ``A-2026-0042``."""
    return f"{region_code}-{year}-{number:0{NUMBER_DIGITS}d}"


def allocate_contract_number(region_code: str, year: int) -> str:
    """Take the next number of ``region_code`` in ``year`` inside the current transaction.

    Does not commit: the caller's command does, with the contract that uses the number.
    """
    table = ContractSequence.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(region_code=region_code, year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=[table.c.region_code, table.c.year],
            set_={"last_number": table.c.last_number + 1},
        )
        .returning(table.c.last_number)
    )
    number = db.session.execute(statement).scalar_one()
    return format_contract_number(region_code, year, int(number))


def last_contract_number(region_code: str, year: int) -> int:
    """The last number issued for the region and year (0 if none)."""
    value = db.session.scalar(
        sa.select(ContractSequence.last_number).where(
            ContractSequence.region_code == region_code, ContractSequence.year == year
        )
    )
    return int(value or 0)
