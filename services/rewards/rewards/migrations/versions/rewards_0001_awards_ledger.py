"""awards ledger

Revision ID: rewards_0001
Revises: 
Create Date: 2026-11-28 18:23:39.513245
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'rewards_0001'
down_revision = None
branch_labels = ('rewards',)
depends_on = None


def upgrade() -> None:

    op.create_table('access_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('award_id', sa.String(length=24), nullable=False),
    sa.Column('viewer', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('awards',
    sa.Column('award_id', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('incident_id', sa.String(length=24), nullable=True),
    sa.Column('case_id', sa.String(length=24), nullable=True),
    sa.Column('subsidy_key', sa.String(length=80), nullable=True),
    sa.Column('payee_ref', sa.String(length=80), nullable=False),
    sa.Column('payee_name', sa.String(length=50), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('tier_version', sa.Integer(), nullable=True),
    sa.Column('why', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('claim_deadline', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('proposed_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=100), nullable=True),
    sa.Column('reviewed_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('approved_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=100), nullable=True),
    sa.Column('closed_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('award_id'),
    sa.UniqueConstraint('incident_id'),
    sa.UniqueConstraint('subsidy_key')
    )
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.create_index('ix_awards_state', ['state', 'kind'], unique=False)

    op.create_table('blacklist',
    sa.Column('reporter_key', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('added_by', sa.String(length=100), nullable=False),
    sa.Column('added_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('reporter_key')
    )
    op.create_table('budgets',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('ceiling_fen', sa.Integer(), nullable=False),
    sa.Column('granted_by', sa.String(length=100), nullable=False),
    sa.Column('granted_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('ledger_entries',
    sa.Column('entry_id', sa.String(length=80), nullable=False),
    sa.Column('award_id', sa.String(length=24), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('debit', sa.String(length=40), nullable=False),
    sa.Column('credit', sa.String(length=40), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('payout_kind', sa.String(length=10), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('entry_id')
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_award_id'), ['award_id'], unique=False)

    op.create_table('payments',
    sa.Column('award_id', sa.String(length=24), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('paid_by', sa.String(length=100), nullable=False),
    sa.Column('paid_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reconciled', sa.String(length=10), nullable=True),
    sa.PrimaryKeyConstraint('award_id'),
    sa.UniqueConstraint('idempotency_key'),
    sa.UniqueConstraint('reference')
    )
    op.create_table('reports',
    sa.Column('incident_id', sa.String(length=24), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('reporter_named', sa.Boolean(), nullable=False),
    sa.Column('reporter_key', sa.String(length=64), nullable=True),
    sa.Column('tracking_key', sa.String(length=64), nullable=True),
    sa.Column('duplicate_of', sa.String(length=24), nullable=True),
    sa.Column('reported_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('incident_id'),
    sa.UniqueConstraint('tracking_key')
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_reporter_key'), ['reporter_key'], unique=False)

    op.create_table('tier_tables',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('table', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )



def downgrade() -> None:

    op.drop_table('tier_tables')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_reporter_key'))

    op.drop_table('reports')
    op.drop_table('payments')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_award_id'))

    op.drop_table('ledger_entries')
    op.drop_table('budgets')
    op.drop_table('blacklist')
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_index('ix_awards_state')

    op.drop_table('awards')
    op.drop_table('access_log')

