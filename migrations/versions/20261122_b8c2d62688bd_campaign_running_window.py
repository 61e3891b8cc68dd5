"""campaigns: when the campaign started running and when it was closed

Campaign rules pay only for events between ``running_since`` and ``closed_at``.
Campaigns already running or closed get the instants from their first
``campaign.running`` and ``campaign.closed`` audit entries (written by the lifecycle's
action together with the status), so their rules keep paying for what occurred while
they ran (a campaign closed without ever running keeps ``running_since`` empty and
pays nothing). Without such an entry (a status set outside the lifecycle), a running
campaign counts as running since its creation, a closed one as closed now.

Revision ID: b8c2d62688bd
Revises: 3a7e5c1d9b20
Create Date: 2026-11-22 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import server.db.types


# revision identifiers, used by Alembic.
revision = 'b8c2d62688bd'
down_revision = '3a7e5c1d9b20'
branch_labels = None
depends_on = None


campaigns = sa.table(
    'campaigns',
    sa.column('id', sa.Integer),
    sa.column('status', sa.String),
    sa.column('created_at', server.db.types.UTCDateTime(timezone=True)),
    sa.column('running_since', server.db.types.UTCDateTime(timezone=True)),
    sa.column('closed_at', server.db.types.UTCDateTime(timezone=True)),
)
audit_log = sa.table(
    'audit_log',
    sa.column('at', server.db.types.UTCDateTime(timezone=True)),
    sa.column('action', sa.String),
    sa.column('entity_type', sa.String),
    sa.column('entity_id', sa.String),
)


def _first_audit(action):
    """The instant of the campaign's first audit entry ``action`` (NULL if none)."""
    return (
        sa.select(sa.func.min(audit_log.c.at))
        .where(
            audit_log.c.action == action,
            audit_log.c.entity_type == 'campaign',
            audit_log.c.entity_id == sa.cast(campaigns.c.id, sa.String(64)),
        )
        .scalar_subquery()
    )


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('running_since', server.db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', server.db.types.UTCDateTime(timezone=True), nullable=True))

    op.execute(
        campaigns.update()
        .where(campaigns.c.status == 'running')
        .values(running_since=sa.func.coalesce(_first_audit('campaign.running'), campaigns.c.created_at))
    )
    op.execute(
        campaigns.update()
        .where(campaigns.c.status == 'closed')
        .values(
            running_since=_first_audit('campaign.running'),
            closed_at=sa.func.coalesce(_first_audit('campaign.closed'), sa.func.current_timestamp()),
        )
    )


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
        batch_op.drop_column('running_since')
