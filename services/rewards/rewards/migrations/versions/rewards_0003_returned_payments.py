"""returned payments (退汇): a confirmed transfer the bank sends back is paid again

Revision ID: rewards_0003
Revises: rewards_0002
Create Date: 2026-11-29 00:30:00.000000

`payments` records a return (who, when, the bank's date and reason) and
`ledger_entries` carries the bank's return date and reason on an
award_payment_returned entry. Pay-once (uq_payments_current) now holds over the
attempts neither failed nor returned: a returned attempt no longer blocks the next.
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'rewards_0003'
down_revision = 'rewards_0002'
branch_labels = None
depends_on = None

BEFORE = "reconciled IS NULL OR reconciled != 'failed'"
CURRENT = "reconciled IS NULL OR reconciled NOT IN ('failed', 'returned')"


def _index(predicate: str) -> None:
    op.create_index('uq_payments_current', 'payments', ['award_id'], unique=True,
                    postgresql_where=sa.text(predicate), sqlite_where=sa.text(predicate))


def upgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('returned_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('returned_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('returned_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('return_reason', sa.String(length=200), nullable=True))
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=200), nullable=True))
    # The index is replaced, not altered: there is a moment without it, inside this
    # migration's transaction (PostgreSQL's DDL is transactional; SQLite's file lock).
    op.drop_index('uq_payments_current', table_name='payments')
    _index(CURRENT)


def downgrade() -> None:
    # Only while no payment is returned: the old index counts a returned attempt as current.
    op.drop_index('uq_payments_current', table_name='payments')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_column('reason')
        batch_op.drop_column('value_date')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('return_reason')
        batch_op.drop_column('returned_on')
        batch_op.drop_column('returned_at')
        batch_op.drop_column('returned_by')
    _index(BEFORE)
