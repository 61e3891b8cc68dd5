"""ledger-self-references-indexed: index the foreign keys that point back into the ledger

`accruals.reverses_accrual_id` (a release or reversal names the row it settles),
`hold_decisions.ledger_accrual_id` and `events.merged_into_id` had no index. Neither
database indexes a foreign key by itself, so every check of "which rows point at this
one" scanned the whole table: the campaign budget's join of forfeits to their held
rows, and each deleted row's foreign-key check. Emptying the demo ledger (11,657
accruals) took 15 s on SQLite, one table scan per row; with the index it is instant.

Plain CREATE INDEX on both databases.

Revision ID: 3f6a2d9e8b14
Revises: c4d8e2a71f05
Create Date: 2026-12-07 01:50:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3f6a2d9e8b14'
down_revision = 'c4d8e2a71f05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f('ix_accruals_reverses_accrual_id'), 'accruals', ['reverses_accrual_id'])
    op.create_index(
        op.f('ix_hold_decisions_ledger_accrual_id'), 'hold_decisions', ['ledger_accrual_id']
    )
    op.create_index(op.f('ix_events_merged_into_id'), 'events', ['merged_into_id'])


def downgrade():
    op.drop_index(op.f('ix_events_merged_into_id'), table_name='events')
    op.drop_index(op.f('ix_hold_decisions_ledger_accrual_id'), table_name='hold_decisions')
    op.drop_index(op.f('ix_accruals_reverses_accrual_id'), table_name='accruals')
