"""the pending-timer index holds live timers only (not the cancelled ones)

Revision ID: dispatch_0006
Revises: dispatch_0005
Create Date: 2026-11-28 20:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'dispatch_0006'
down_revision = 'dispatch_0005'
branch_labels = None
depends_on = None

LIVE = sa.text('fired_at IS NULL AND cancelled IS false')
PENDING = sa.text('fired_at IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('case_timers', schema=None) as batch_op:
        batch_op.create_index('ix_case_timers_live', ['due_at'], unique=False, postgresql_where=LIVE,
                              sqlite_where=LIVE)
        batch_op.drop_index('ix_case_timers_pending', postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade() -> None:
    with op.batch_alter_table('case_timers', schema=None) as batch_op:
        batch_op.create_index('ix_case_timers_pending', ['due_at'], unique=False, postgresql_where=PENDING,
                              sqlite_where=PENDING)
        batch_op.drop_index('ix_case_timers_live', postgresql_where=LIVE, sqlite_where=LIVE)
