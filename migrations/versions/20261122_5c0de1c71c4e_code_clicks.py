"""code clicks

Revision ID: 5c0de1c71c4e
Revises: 9067305b29fe
Create Date: 2026-11-22 10:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import server.db.types


# revision identifiers, used by Alembic.
revision = '5c0de1c71c4e'
down_revision = '9067305b29fe'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('code_clicks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('click', 'scan', name='visitkind', native_enum=False, length=32), nullable=False),
    sa.Column('at', server.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=500), nullable=True),
    sa.Column('referrer', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['code_id'], ['attribution_codes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('code_clicks', schema=None) as batch_op:
        batch_op.create_index('ix_code_clicks_code_at', ['code_id', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('code_clicks', schema=None) as batch_op:
        batch_op.drop_index('ix_code_clicks_code_at')

    op.drop_table('code_clicks')
