"""payment attempts: a failed transfer keeps its row and the award is paid again

Revision ID: rewards_0002
Revises: rewards_0001
Create Date: 2026-11-29 10:00:00.000000

The key of `payments` moves from the award to (award, attempt): existing rows are
attempt 1. Pay-once now holds for the current attempt: a unique index on the award
over the attempts not reconciled as failed.
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'rewards_0002'
down_revision = 'rewards_0001'
branch_labels = None
depends_on = None

CURRENT = "reconciled IS NULL OR reconciled != 'failed'"


def _payments(key: tuple[str, ...]) -> sa.Table:
    """The table with every column of this revision and the given key (for SQLite's copy)."""
    return sa.Table('payments', sa.MetaData(),
    sa.Column('award_id', sa.String(length=24), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('paid_by', sa.String(length=100), nullable=False),
    sa.Column('paid_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reconciled', sa.String(length=10), nullable=True),
    sa.Column('attempt', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('reconciled_by', sa.String(length=100), nullable=True),
    sa.Column('reconciled_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint(*key),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('reference')
    )


def upgrade() -> None:

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), autoincrement=False, nullable=False,
                                      server_default=sa.text('1')))
        batch_op.add_column(sa.Column('reconciled_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('reconciled_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True))

    if op.get_context().dialect.name == 'sqlite':
        # SQLite cannot alter a key: the batch copies the table into one with the new key.
        with op.batch_alter_table('payments', schema=None, recreate='always',
                                  copy_from=_payments(('award_id', 'attempt'))):
            pass
    else:
        op.drop_constraint('payments_pkey', 'payments', type_='primary')
        op.create_primary_key('payments_pkey', 'payments', ['award_id', 'attempt'])
        op.alter_column('payments', 'attempt', server_default=None)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('uq_payments_current', ['award_id'], unique=True,
                              postgresql_where=sa.text(CURRENT), sqlite_where=sa.text(CURRENT))


def downgrade() -> None:
    # Only while every award has a single attempt: the old key allowed one payment per award.

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_current', postgresql_where=sa.text(CURRENT),
                            sqlite_where=sa.text(CURRENT))

    if op.get_context().dialect.name == 'sqlite':
        with op.batch_alter_table('payments', schema=None, recreate='always', copy_from=_payments(('award_id',))):
            pass
    else:
        op.drop_constraint('payments_pkey', 'payments', type_='primary')
        op.create_primary_key('payments_pkey', 'payments', ['award_id'])

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('reconciled_at')
        batch_op.drop_column('reconciled_by')
        batch_op.drop_column('attempt')
