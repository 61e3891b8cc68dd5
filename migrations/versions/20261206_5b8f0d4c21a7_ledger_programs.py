"""ledger-programs: every accrual names its program; figures are kept per program

The ledger evaluates every program with a version in force at an event's local date
(spec §6), so an accrual must say which program produced it (`accruals.program_id`,
indexed with `created_at` for the screens' filter; null only for rows of no program:
payouts, and hand-made rows without a version) and two programs' month-to-date
figures must never share a row: `eval_period_figures.rule` becomes `<slug>/<rule id>`
(the engine's `figures_by_program=True` keys), widened to hold both, and the sale
registry's reversible accruals name their program (refunds reverse per program).

Backfill: an accrual gets its program version's program (payouts have none and keep
none). Figures and registry entries get the program of the latest accrual with their
rule key, else the program whose published version is the latest. Before this
migration only one program was evaluated at a time, so a rule key named one program's
rule on any given day.

Downgrade keeps only the figures of the program whose version is the latest (the one
the old ledger evaluates) and strips their prefix; registry entries keep their
`program` (the old code reads and ignores it).

Revision ID: 5b8f0d4c21a7
Revises: 7d3e91b0c2a4
Create Date: 2026-12-06 05:00:00.000000

"""
import json

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5b8f0d4c21a7'
down_revision = '7d3e91b0c2a4'
branch_labels = None
depends_on = None

def _latest_program(bind):
    return bind.execute(
        sa.text(
            "SELECT program_id FROM program_versions WHERE status = 'published' "
            "AND effective_from IS NOT NULL ORDER BY effective_from DESC, number DESC, id DESC"
        )
    ).scalar()


def _program_of_rule(bind):
    """rule key -> program id of the latest accrual with that key."""
    found = {}
    rows = bind.execute(
        sa.text(
            "SELECT rule_key, program_id FROM accruals WHERE rule_key IS NOT NULL "
            "AND program_id IS NOT NULL ORDER BY id"
        )
    )
    for rule_key, program_id in rows:
        found[rule_key] = program_id
    return found


def upgrade():
    bind = op.get_bind()
    with op.batch_alter_table('accruals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('program_id', sa.Integer(), nullable=True))
    bind.execute(
        sa.text(
            "UPDATE accruals SET program_id = (SELECT program_versions.program_id "
            "FROM program_versions WHERE program_versions.id = accruals.program_version_id)"
        )
    )
    latest = _latest_program(bind)
    with op.batch_alter_table('accruals', schema=None) as batch_op:
        batch_op.create_index(
            'ix_accruals_program_created', ['program_id', 'created_at'], unique=False
        )
    # the program's figures and registry entries
    with op.batch_alter_table('eval_period_figures', schema=None) as batch_op:
        batch_op.alter_column(
            'rule', existing_type=sa.String(100), type_=sa.String(201), existing_nullable=False
        )
    slugs = dict(bind.execute(sa.text("SELECT id, slug FROM programs")).all())
    by_rule = _program_of_rule(bind)
    rules = [r for (r,) in bind.execute(sa.text("SELECT DISTINCT rule FROM eval_period_figures"))]
    for rule in rules:
        program_id = by_rule.get(rule, latest)
        if program_id is None:
            continue  # figures of no program: nothing reads them
        bind.execute(
            sa.text("UPDATE eval_period_figures SET rule = :new WHERE rule = :old"),
            {"new": f"{slugs[program_id]}/{rule}", "old": rule},
        )
    sales = bind.execute(sa.text("SELECT sale_id, accruals FROM eval_sales")).all()
    for sale_id, accruals in sales:
        items = json.loads(accruals) if isinstance(accruals, str) else accruals
        changed = False
        for item in items or []:
            if item.get("program") is None:
                program_id = by_rule.get(item.get("rule"), latest)
                if program_id is not None:
                    item["program"] = slugs[program_id]
                    changed = True
        if changed:
            bind.execute(
                sa.text("UPDATE eval_sales SET accruals = :a WHERE sale_id = :s"),
                {"a": json.dumps(items), "s": sale_id},
            )


def downgrade():
    bind = op.get_bind()
    latest = _latest_program(bind)
    slug = None
    if latest is not None:
        slug = bind.execute(
            sa.text("SELECT slug FROM programs WHERE id = :i"), {"i": latest}
        ).scalar()
    rules = [r for (r,) in bind.execute(sa.text("SELECT DISTINCT rule FROM eval_period_figures"))]
    for rule in rules:
        prefix, _, bare = rule.partition("/")
        if not bare:
            continue
        if prefix == slug:
            bind.execute(
                sa.text("UPDATE eval_period_figures SET rule = :new WHERE rule = :old"),
                {"new": bare, "old": rule},
            )
        else:
            bind.execute(
                sa.text("DELETE FROM eval_period_figures WHERE rule = :old"), {"old": rule}
            )
    with op.batch_alter_table('eval_period_figures', schema=None) as batch_op:
        batch_op.alter_column(
            'rule', existing_type=sa.String(201), type_=sa.String(100), existing_nullable=False
        )
    with op.batch_alter_table('accruals', schema=None) as batch_op:
        batch_op.drop_index('ix_accruals_program_created')
        batch_op.drop_column('program_id')
