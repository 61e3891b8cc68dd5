"""money columns hold exact amounts in range only: no REAL on SQLite, no NaN on PostgreSQL; 64-bit points

An amount too large for a 64-bit count of kopecks reached SQLite as a REAL (a float:
6.45636042579834e+19), and PostgreSQL's NUMERIC accepts 'NaN'. The Money type refuses
both before the driver; this makes the databases refuse them too, for any writer.

SQLite: accruals, the hot table (rebuilt anyway for its points, below), gets a CHECK
constraint, which costs nothing measurable per insert; every other money column gets a
trigger per statement kind (no table rebuild; rows written before are not checked). A
trigger doubled the cost of a plain 100,000-row insert (5.6 -> 10.3 us a row), which
only events' one insert per event at intake pays. PostgreSQL: a CHECK constraint per column, checked against the
rows already there (NOT VALID would skip that, but SQLAlchemy cannot reflect such a
constraint without a warning in every `flask db migrate`). A database where the probe
already left an accrual of 10^16 roubles or more stops this upgrade with the
constraint's name: those rows are wrong and must be reversed or deleted first.

accruals.points becomes BIGINT: one point per rouble of the largest sale intake accepts
(999,999,999,999.99) is 10^12 points, and PostgreSQL's INTEGER refused it, failing the
whole evaluation batch (SQLite's INTEGER is 64-bit already; its table is rebuilt by
Alembic's batch mode, before the triggers are made).

Revision ID: 7d3e91b0c2a4
Revises: a1c3e5f70b21
Create Date: 2026-12-06 03:30:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '7d3e91b0c2a4'
down_revision = 'a1c3e5f70b21'
branch_labels = None
depends_on = None

#: every Money column (server/db/types.py) when this migration was written
MONEY_COLUMNS = (
    ("accruals", "amount"),
    ("events", "amount"),
    ("statements", "opening_balance"),
    ("statements", "closing_balance"),
    ("regional_terms", "minimum_payout"),
    ("campaigns", "budget"),
    ("kpi_accrual_days", "accrued"),
    ("kpi_campaign_days", "sales_amount"),
    ("kpi_event_days", "sales_amount"),
    ("kpi_partner_totals", "sales_amount"),
    ("kpi_partner_totals", "approved"),
    ("kpi_partner_totals", "awaiting_review"),
)
#: MONEY_LIMIT (10^16 roubles) in SQLite's kopecks
KOPECK_LIMIT = 10**18


def _trigger(table, column, when):
    name = f"money_exact_{table}_{column}_{when}"
    event = "INSERT" if when == "insert" else f'UPDATE OF "{column}"'
    return (
        f'CREATE TRIGGER "{name}" BEFORE {event} ON "{table}" '
        f'WHEN NEW."{column}" IS NOT NULL AND (typeof(NEW."{column}") != \'integer\' '
        f'OR NEW."{column}" <= -{KOPECK_LIMIT} OR NEW."{column}" >= {KOPECK_LIMIT}) '
        f"BEGIN SELECT RAISE(ABORT, '{table}.{column}: money must be whole kopecks "
        f"below 10^16 roubles'); END"
    )


#: on SQLite a CHECK constraint of the rebuilt table, not a trigger
REBUILT = ("accruals", "amount")
SQLITE_CHECK = (
    f"typeof(amount) = 'integer' AND amount > -{KOPECK_LIMIT} AND amount < {KOPECK_LIMIT}"
)


def upgrade():
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("accruals", schema=None) as batch_op:
        batch_op.alter_column(
            "points", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False
        )
        if dialect == "sqlite":
            batch_op.create_check_constraint("ck_accruals_amount_money", SQLITE_CHECK)
    for table, column in MONEY_COLUMNS:
        if dialect == "sqlite" and (table, column) != REBUILT:
            op.execute(_trigger(table, column, "insert"))
            op.execute(_trigger(table, column, "update"))
        elif dialect == "postgresql":
            op.execute(
                f'ALTER TABLE "{table}" ADD CONSTRAINT "ck_{table}_{column}_money" '
                f'CHECK ("{column}" > -1e16 AND "{column}" < 1e16)'
            )


def downgrade():
    dialect = op.get_bind().dialect.name
    for table, column in MONEY_COLUMNS:
        if dialect == "sqlite" and (table, column) != REBUILT:
            for when in ("insert", "update"):
                op.execute(f'DROP TRIGGER IF EXISTS "money_exact_{table}_{column}_{when}"')
        elif dialect == "postgresql":
            op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "ck_{table}_{column}_money"')
    with op.batch_alter_table("accruals", schema=None) as batch_op:
        if dialect == "sqlite":
            batch_op.drop_constraint("ck_accruals_amount_money", type_="check")
        batch_op.alter_column(
            "points", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False
        )
