"""first page: holds awaiting review instead of every held row ever written

``kpi_partner_totals.held`` summed every held ledger row, decided or not, so a hold a
manager approved counted as held and, through its release, as approved. The column
becomes ``awaiting_review``: the held rows no decision has taken out yet
(``server.ledger.holds.awaiting_review_filter``). The rows already there hold the old
sums, so the next refresh is made a full rebuild (both ways).

Revision ID: 372d2e52966d
Revises: b8c2d62688bd
Create Date: 2026-11-22 15:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '372d2e52966d'
down_revision = 'b8c2d62688bd'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kpi_partner_totals') as batch_op:
        batch_op.alter_column('held', new_column_name='awaiting_review')
    op.execute("UPDATE kpi_refresh SET refreshed_at = NULL")


def downgrade():
    with op.batch_alter_table('kpi_partner_totals') as batch_op:
        batch_op.alter_column('awaiting_review', new_column_name='held')
    op.execute("UPDATE kpi_refresh SET refreshed_at = NULL")
