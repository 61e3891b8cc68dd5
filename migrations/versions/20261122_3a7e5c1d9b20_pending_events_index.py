"""pending events in processing order: a partial index for the workers' queue

Revision ID: 3a7e5c1d9b20
Revises: 95bb94f08b01
Create Date: 2026-11-22 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3a7e5c1d9b20'
down_revision = '95bb94f08b01'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(
            'ix_events_pending_order',
            ['occurred_at', 'external_id', 'id'],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_pending_order')
