"""one id space for job runs and task runs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 22:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    counter = op.create_table(
        'run_id_counter',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('next_id', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    # New ids start above every id either table has handed out; older ids stay as they are.
    bind = op.get_bind()
    top = bind.execute(sa.text(
        "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM runs "
        "UNION ALL SELECT MAX(id) AS m FROM task_runs) AS ids")).scalar()
    op.bulk_insert(counter, [{'name': 'runs', 'next_id': (top or 0) + 1}])


def downgrade() -> None:
    op.drop_table('run_id_counter')
