"""regional terms name the city where contracts are signed

A contract's header said «г. Москва» for every region while its dispute clause named the
region's court (Saint Petersburg, Krasnodar): both now come from the region's terms.

Revision ID: a1c3e5f70b21
Revises: 0ed2610c8699
Create Date: 2026-12-06 04:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1c3e5f70b21'
down_revision = '0ed2610c8699'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('regional_terms') as batch:
        batch.add_column(sa.Column('contract_city', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('regional_terms') as batch:
        batch.drop_column('contract_city')
