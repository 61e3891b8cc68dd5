"""campaigns-own-program: a campaign's rules live in a small program of its own

Composing a campaign used to open a new draft of its program (a second one beside a
manager's open draft, which then forked). A campaign now gets its own program, named
in `campaigns.rules_program_id`; its program (`campaigns.program_id`) stays the one
the campaign is for. Campaigns composed before keep their rule in that program's
versions and have no own program (null).

On SQLite the batch mode rebuilds `campaigns`, which drops the money triggers of
`campaigns.budget` made by 7d3e91b0c2a4; they are made again after the rebuild.

Revision ID: e2b7c9d41f38
Revises: 5b8f0d4c21a7
Create Date: 2026-12-06 07:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e2b7c9d41f38'
down_revision = '5b8f0d4c21a7'
branch_labels = None
depends_on = None

#: MONEY_LIMIT (10^16 roubles) in SQLite's kopecks, as in 7d3e91b0c2a4
KOPECK_LIMIT = 10**18


def _restore_budget_triggers():
    """The triggers 7d3e91b0c2a4 made on `campaigns.budget`, lost by a table rebuild."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for when in ("insert", "update"):
        name = f"money_exact_campaigns_budget_{when}"
        event = "INSERT" if when == "insert" else 'UPDATE OF "budget"'
        op.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        op.execute(
            f'CREATE TRIGGER "{name}" BEFORE {event} ON "campaigns" '
            f'WHEN NEW."budget" IS NOT NULL AND (typeof(NEW."budget") != \'integer\' '
            f'OR NEW."budget" <= -{KOPECK_LIMIT} OR NEW."budget" >= {KOPECK_LIMIT}) '
            f"BEGIN SELECT RAISE(ABORT, 'campaigns.budget: money must be whole kopecks "
            f"below 10^16 roubles'); END"
        )


def upgrade():
    with op.batch_alter_table('campaigns') as batch:
        batch.add_column(sa.Column('rules_program_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_campaigns_rules_program_id_programs', 'programs', ['rules_program_id'], ['id']
        )
        batch.create_unique_constraint('uq_campaigns_rules_program_id', ['rules_program_id'])
    _restore_budget_triggers()


def downgrade():
    with op.batch_alter_table('campaigns') as batch:
        batch.drop_constraint('uq_campaigns_rules_program_id', type_='unique')
        batch.drop_constraint('fk_campaigns_rules_program_id_programs', type_='foreignkey')
        batch.drop_column('rules_program_id')
    _restore_budget_triggers()
