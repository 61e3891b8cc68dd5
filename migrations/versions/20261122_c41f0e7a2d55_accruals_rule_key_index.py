"""accruals by rule key and kind: campaign spend without a scan of the ledger

Revision ID: c41f0e7a2d55
Revises: 372d2e52966d
Create Date: 2026-11-22 14:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c41f0e7a2d55'
down_revision = '372d2e52966d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accruals', schema=None) as batch_op:
        batch_op.create_index('ix_accruals_rule_key_kind', ['rule_key', 'kind'], unique=False)


def downgrade():
    with op.batch_alter_table('accruals', schema=None) as batch_op:
        batch_op.drop_index('ix_accruals_rule_key_kind')
