"""enrolment-and-partner-tags: a program version pins its enrolment; partners carry tags

`program_versions.enrolment` holds the version's enrolment (spec §6) as the program
file writes it: a mapping of the named keys (`regions`, `partner_types`, `tags`,
`partners`, each a list). NULL means nobody was named: every partner takes part, which
is what every version stored before this migration did (they could not name one).

`partners.tags` holds the partner's segments (a JSON list of text; NULL = none), the
ones a program's enrolment and a rule's scope `tags` match.

Both are plain ADD COLUMNs, so SQLite does not rebuild either table (no batch mode, no
trigger to restore).

Revision ID: c4d8e2a71f05
Revises: e2b7c9d41f38
Create Date: 2026-12-06 18:40:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c4d8e2a71f05'
down_revision = 'e2b7c9d41f38'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('program_versions', sa.Column('enrolment', sa.JSON(), nullable=True))
    op.add_column('partners', sa.Column('tags', sa.JSON(), nullable=True))


def downgrade():
    # SQLite 3.35+ drops a column in place, without rebuilding the table
    op.drop_column('partners', 'tags')
    op.drop_column('program_versions', 'enrolment')
