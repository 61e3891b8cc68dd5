"""accruals' references checked once per statement on PostgreSQL, not once per row

An evaluation batch writes ~7,500 accruals in one COPY. Their four foreign keys
(partner, event, rule instance, program version) made PostgreSQL run up to 30,000
row-level RI checks at the end of that COPY, which took 33.6 µs per event, a fifth of a
batch's wall time (docs/benchmarks.md). The same guarantees are now given by statement-level triggers
over the statement's transition table: the referenced rows are locked FOR KEY SHARE
(as a foreign key locks them) and checked for existence in one set-based query each;
deleting, truncating or renumbering a referenced row is refused while an accrual points
at it. Violations raise SQLSTATE 23503 (foreign_key_violation), as a foreign key does.
SQLite keeps its foreign keys (its checks are cheap index probes in-process).
``server/db/references.py`` tells Alembic's comparison about the difference.

Revision ID: 0ed2610c8699
Revises: c41f0e7a2d55
Create Date: 2026-11-22 16:50:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0ed2610c8699'
down_revision = 'c41f0e7a2d55'
branch_labels = None
depends_on = None

# (column of accruals, referenced table); each references that table's id
REFERENCES = [
    ('partner_id', 'partners'),
    ('event_id', 'events'),
    ('rule_instance_id', 'rule_instances'),
    ('program_version_id', 'program_versions'),
]


def _insert_check() -> str:
    locks = '\n'.join(
        f'    PERFORM 1 FROM {table} WHERE id IN (SELECT {column} FROM new_rows) FOR KEY SHARE;'
        for column, table in REFERENCES
    )
    checks = '\n'.join(
        f"""    SELECT n.{column} INTO missing FROM new_rows n
     WHERE n.{column} IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = n.{column}) LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('insert or update on table "accruals": {column}=%s is not in table "{table}"', missing);
    END IF;"""
        for column, table in REFERENCES
    )
    return f"""
CREATE FUNCTION accruals_check_references() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    -- what the new rows refer to cannot be deleted before this transaction ends
{locks}
{checks}
    RETURN NULL;
END
$$;
"""


def _referenced_check(column: str, table: str) -> str:
    """Deleting (or renumbering) rows of ``table`` still referenced by accruals fails."""
    return f"""
CREATE FUNCTION {table}_check_accruals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    referenced bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        SELECT a.{column} INTO referenced FROM accruals a WHERE a.{column} IS NOT NULL LIMIT 1;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT g.id INTO referenced FROM gone g
         WHERE EXISTS (SELECT 1 FROM accruals a WHERE a.{column} = g.id) LIMIT 1;
    ELSIF OLD.id IS DISTINCT FROM NEW.id
          AND EXISTS (SELECT 1 FROM accruals a WHERE a.{column} = OLD.id) THEN
        referenced := OLD.id;
    END IF;
    IF referenced IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('update or delete on table "{table}": id=%s is still referenced from table "accruals"', referenced);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER accruals_referenced_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION {table}_check_accruals();
CREATE TRIGGER accruals_referenced_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_check_accruals();
CREATE TRIGGER accruals_referenced_renumber AFTER UPDATE OF id ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_check_accruals();
"""


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for column, _table in REFERENCES:
        op.execute(f'ALTER TABLE accruals DROP CONSTRAINT accruals_{column}_fkey')
    op.execute(_insert_check())
    op.execute(
        'CREATE TRIGGER accruals_references_insert AFTER INSERT ON accruals '
        'REFERENCING NEW TABLE AS new_rows '
        'FOR EACH STATEMENT EXECUTE FUNCTION accruals_check_references()'
    )
    op.execute(
        'CREATE TRIGGER accruals_references_update AFTER UPDATE ON accruals '
        'REFERENCING NEW TABLE AS new_rows '
        'FOR EACH STATEMENT EXECUTE FUNCTION accruals_check_references()'
    )
    for column, table in REFERENCES:
        op.execute(_referenced_check(column, table))


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for _column, table in REFERENCES:
        for trigger in ('delete', 'truncate', 'renumber'):
            op.execute(f'DROP TRIGGER accruals_referenced_{trigger} ON {table}')
        op.execute(f'DROP FUNCTION {table}_check_accruals()')
    op.execute('DROP TRIGGER accruals_references_insert ON accruals')
    op.execute('DROP TRIGGER accruals_references_update ON accruals')
    op.execute('DROP FUNCTION accruals_check_references()')
    for column, table in REFERENCES:
        op.execute(
            f'ALTER TABLE accruals ADD CONSTRAINT accruals_{column}_fkey '
            f'FOREIGN KEY ({column}) REFERENCES {table} (id)'
        )
