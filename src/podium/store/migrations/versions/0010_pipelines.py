"""pipelines and their updates

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'workspace_pipelines',
        sa.Column('pipeline_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=4096), nullable=False),
        sa.Column('settings_json', sa.Text(), nullable=False),
        sa.Column('spec_json', sa.Text(), nullable=False),
        sa.Column('creator_user_name', sa.String(length=255), nullable=False),
        sa.Column('created_ms', sa.BigInteger(), nullable=False),
        sa.Column('updated_ms', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('bundle_name', sa.String(length=255), nullable=True),
        sa.Column('bundle_root', sa.Text(), nullable=True),
        sa.Column('target', sa.String(length=255), nullable=True),
        sa.Column('key', sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint('pipeline_id'),
        sa.UniqueConstraint('bundle_root', 'target', 'key',
                            name='uq_workspace_pipelines_bundle_key'),
    )
    op.create_table(
        'pipeline_updates',
        sa.Column('update_id', sa.String(length=36), nullable=False),
        sa.Column('pipeline_id', sa.String(length=36), nullable=False),
        sa.Column('run_id', sa.BigInteger(), nullable=False),
        sa.Column('cause', sa.String(length=32), nullable=False),
        sa.Column('options_json', sa.Text(), nullable=False),
        sa.Column('created_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('update_id'),
    )
    with op.batch_alter_table('pipeline_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pipeline_updates_pipeline_id'), ['pipeline_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_pipeline_updates_run_id'), ['run_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('pipeline_updates')
    op.drop_table('workspace_pipelines')
