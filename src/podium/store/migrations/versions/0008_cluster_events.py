"""cluster events

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 23:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cluster_events',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('cluster_id', sa.String(length=255), nullable=False),
        sa.Column('timestamp', sa.BigInteger(), nullable=False),
        sa.Column('type', sa.String(length=32), nullable=False),
        sa.Column('details_json', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('cluster_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cluster_events_cluster_id'), ['cluster_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('cluster_events')
