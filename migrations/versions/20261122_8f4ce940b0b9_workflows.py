"""workflows: action runs, evidence, outbox, program enrollments

Also adds ``created_by_id`` and ``published_at`` to ``workflow_definitions``. The new
``acting`` instance status needs no change: statuses are stored as VARCHAR(32) without
a CHECK constraint.

Revision ID: 8f4ce940b0b9
Revises: 5c0de1c71c4e
Create Date: 2026-11-22 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import server.db.types


# revision identifiers, used by Alembic.
revision = '8f4ce940b0b9'
down_revision = '5c0de1c71c4e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workflow_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('published_at', server.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_workflow_definitions_created_by_id', 'ab_user', ['created_by_id'], ['id'])

    op.create_table('workflow_action_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('transition_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'running', 'done', 'failed', name='actionrunstatus', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', server.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['workflow_instances.id'], ),
    sa.ForeignKeyConstraint(['transition_id'], ['workflow_transitions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('workflow_action_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_action_runs_instance_id'), ['instance_id'], unique=False)

    op.create_table('workflow_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('document', 'training', 'approval', name='evidencekind', native_enum=False, length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=True),
    sa.Column('file_path', sa.String(length=500), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', server.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['ab_user.id'], ),
    sa.ForeignKeyConstraint(['instance_id'], ['workflow_instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('workflow_evidence', schema=None) as batch_op:
        batch_op.create_index('ix_workflow_evidence_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('workflow_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_run_id', sa.Integer(), nullable=True),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('logged', 'sent', 'failed', name='outboxstatus', native_enum=False, length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', server.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['action_run_id'], ['workflow_action_runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('action_run_id')
    )

    op.create_table('program_enrollments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('program_version_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('enrolled_at', server.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['workflow_instances.id'], ),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], ),
    sa.ForeignKeyConstraint(['program_version_id'], ['program_versions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('partner_id', 'program_version_id')
    )
    with op.batch_alter_table('program_enrollments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_program_enrollments_partner_id'), ['partner_id'], unique=False)


def downgrade():
    with op.batch_alter_table('program_enrollments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_program_enrollments_partner_id'))

    op.drop_table('program_enrollments')
    op.drop_table('workflow_outbox')
    with op.batch_alter_table('workflow_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_workflow_evidence_subject')

    op.drop_table('workflow_evidence')
    with op.batch_alter_table('workflow_action_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workflow_action_runs_instance_id'))

    op.drop_table('workflow_action_runs')
    with op.batch_alter_table('workflow_definitions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_workflow_definitions_created_by_id', type_='foreignkey')
        batch_op.drop_column('published_at')
        batch_op.drop_column('created_by_id')
