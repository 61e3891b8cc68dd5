"""per-partner KPI rollup for the manager's first page

Revision ID: 95bb94f08b01
Revises: 00f973858f56
Create Date: 2026-11-22 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import server.db.types


# revision identifiers, used by Alembic.
revision = '95bb94f08b01'
down_revision = '00f973858f56'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kpi_partner_totals',
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('sales_count', sa.Integer(), nullable=False),
    sa.Column('sales_amount', server.db.types.Money(precision=20, scale=2), nullable=False),
    sa.Column('approved', server.db.types.Money(precision=20, scale=2), nullable=False),
    sa.Column('approved_rows', sa.Integer(), nullable=False),
    sa.Column('held', server.db.types.Money(precision=20, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('partner_id')
    )
    # An incremental refresh only recomputes partners touched since the last one: make
    # the next refresh a full rebuild, so the new table starts complete.
    op.execute("UPDATE kpi_refresh SET refreshed_at = NULL")


def downgrade():
    op.drop_table('kpi_partner_totals')
