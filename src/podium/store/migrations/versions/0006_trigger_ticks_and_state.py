"""trigger ticks and trigger state; job ids never reused on SQLite

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 22:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':  # AUTOINCREMENT: a deleted job's id stays used
        with op.batch_alter_table('workspace_jobs', recreate='always',
                                  table_kwargs={'sqlite_autoincrement': True}):
            pass
    op.create_table(
        'trigger_ticks',
        sa.Column('job_id', sa.BigInteger(), nullable=False),
        sa.Column('due_ms', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('job_id', 'due_ms'),
    )
    op.create_table(
        'trigger_state',
        sa.Column('job_id', sa.BigInteger(), nullable=False),
        sa.Column('spec_hash', sa.String(length=64), nullable=False),
        sa.Column('since_ms', sa.BigInteger(), nullable=False),
        sa.Column('considered_ms', sa.BigInteger(), nullable=False),
        sa.Column('last_fire_ms', sa.BigInteger(), nullable=True),
        sa.Column('checked_ms', sa.BigInteger(), nullable=False),
        sa.Column('watermark_json', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('job_id'),
    )


def downgrade() -> None:
    op.drop_table('trigger_state')
    op.drop_table('trigger_ticks')
