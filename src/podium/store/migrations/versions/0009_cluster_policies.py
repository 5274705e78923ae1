"""cluster policies

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 23:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cluster_policies',
        sa.Column('policy_id', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('definition', sa.Text(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('max_clusters_per_user', sa.Integer(), nullable=True),
        sa.Column('creator_user_name', sa.String(length=255), nullable=False),
        sa.Column('created_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('policy_id'),
        sa.UniqueConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('cluster_policies')
