"""cases history timers callbacks

Revision ID: dispatch_0002
Revises: dispatch_0001
Create Date: 2026-11-28 17:44:32.523792
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'dispatch_0002'
down_revision = None
branch_labels = ('dispatch',)
depends_on = None


def upgrade() -> None:

    op.create_table('calendar_overrides',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('workday', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('cases',
    sa.Column('case_id', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=True),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('supervision', sa.String(length=10), nullable=False),
    sa.Column('major', sa.Boolean(), nullable=False),
    sa.Column('emergency', sa.Boolean(), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('assigned_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('due_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('paused_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('rework_count', sa.Integer(), nullable=False),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('outside_district', sa.Boolean(), nullable=True),
    sa.Column('flagged', sa.String(length=200), nullable=True),
    sa.Column('city', sa.JSON(), nullable=True),
    sa.Column('department_code', sa.String(length=40), nullable=True),
    sa.Column('referred_to', sa.String(length=12), nullable=True),
    sa.Column('verified_true', sa.Boolean(), nullable=True),
    sa.Column('handled_on_spot', sa.Boolean(), nullable=False),
    sa.Column('first_incident', sa.String(length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_grid_code'), ['grid_code'], unique=False)
        batch_op.create_index('ix_cases_state_due', ['state', 'due_at'], unique=False)

    op.create_table('categories',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('first_level', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('case_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=24), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=True),
    sa.Column('at', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('previous_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'seq', name='uq_case_history_seq')
    )
    op.create_table('case_incidents',
    sa.Column('incident_id', sa.String(length=24), nullable=False),
    sa.Column('case_id', sa.String(length=24), nullable=False),
    sa.Column('attached_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], ),
    sa.PrimaryKeyConstraint('incident_id')
    )
    with op.batch_alter_table('case_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_incidents_case_id'), ['case_id'], unique=False)

    op.create_table('case_timers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('due_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_timers_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_timers_pending', ['due_at'], unique=False, postgresql_where=sa.text('fired_at IS NULL'), sqlite_where=sa.text('fired_at IS NULL'))

    op.create_table('city_callbacks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=24), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('log', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )



def downgrade() -> None:

    op.drop_table('city_callbacks')
    with op.batch_alter_table('case_timers', schema=None) as batch_op:
        batch_op.drop_index('ix_case_timers_pending', postgresql_where=sa.text('fired_at IS NULL'), sqlite_where=sa.text('fired_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_case_timers_case_id'))

    op.drop_table('case_timers')
    with op.batch_alter_table('case_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_incidents_case_id'))

    op.drop_table('case_incidents')
    op.drop_table('case_history')
    op.drop_table('categories')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_state_due')
        batch_op.drop_index(batch_op.f('ix_cases_grid_code'))

    op.drop_table('cases')
    op.drop_table('calendar_overrides')

