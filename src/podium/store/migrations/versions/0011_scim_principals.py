"""users, groups and service principals (SCIM)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 03:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scim_principals',
        sa.Column('principal_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('display_name', sa.String(length=255), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('extra_json', sa.Text(), nullable=False),
        sa.Column('created_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('principal_id'),
        sa.UniqueConstraint('kind', 'name', name='uq_scim_principals_kind_name'),
    )
    op.create_table(
        'scim_members',
        sa.Column('group_id', sa.String(length=32), nullable=False),
        sa.Column('member_id', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('group_id', 'member_id'),
    )


def downgrade() -> None:
    op.drop_table('scim_members')
    op.drop_table('scim_principals')
