"""period closes for statements; daily KPI rollups for the dashboards

Revision ID: 00f973858f56
Revises: 8f4ce940b0b9
Create Date: 2026-11-22 11:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import server.db.types


# revision identifiers, used by Alembic.
revision = '00f973858f56'
down_revision = '8f4ce940b0b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('period_closes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('closed_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period_start', 'period_end')
    )
    with op.batch_alter_table('period_closes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_period_closes_period_end'), ['period_end'], unique=False)
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_processed_at', ['processed_at'], unique=False)
    with op.batch_alter_table('accruals', schema=None) as batch_op:
        batch_op.create_index('ix_accruals_created_at', ['created_at'], unique=False)
    op.create_table('kpi_event_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('partner_kind', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('sales_count', sa.Integer(), nullable=False),
    sa.Column('sales_amount', server.db.types.Money(precision=20, scale=2), nullable=False),
    sa.Column('leads', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'region_id', 'partner_kind', 'channel')
    )
    op.create_table('kpi_accrual_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('partner_kind', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('accrued', server.db.types.Money(precision=20, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('day', 'region_id', 'partner_kind', 'channel', 'campaign_id')
    )
    op.create_table('kpi_campaign_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('sales_count', sa.Integer(), nullable=False),
    sa.Column('sales_amount', server.db.types.Money(precision=20, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('day', 'campaign_id')
    )
    op.create_table('kpi_first_sales',
    sa.Column('customer', sa.String(length=200), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('partner_kind', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('customer')
    )
    with op.batch_alter_table('kpi_first_sales', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kpi_first_sales_day'), ['day'], unique=False)
    op.create_table('kpi_refresh',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('refreshed_at', server.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade():
    op.drop_table('kpi_refresh')
    with op.batch_alter_table('kpi_first_sales', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kpi_first_sales_day'))
    op.drop_table('kpi_first_sales')
    op.drop_table('kpi_campaign_days')
    op.drop_table('kpi_accrual_days')
    op.drop_table('kpi_event_days')
    with op.batch_alter_table('accruals', schema=None) as batch_op:
        batch_op.drop_index('ix_accruals_created_at')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_processed_at')
    with op.batch_alter_table('period_closes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_period_closes_period_end'))

    op.drop_table('period_closes')
