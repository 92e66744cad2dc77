"""metrics records rules results subsidies flags

Revision ID: assessment_0001
Revises: 
Create Date: 2026-11-28 18:15:03.138295
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'assessment_0001'
down_revision = None
branch_labels = ('assessment',)
depends_on = None


def upgrade() -> None:

    op.create_table('adjustments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=True),
    sa.Column('belongs_to', sa.String(length=7), nullable=False),
    sa.Column('counted_in', sa.String(length=7), nullable=False),
    sa.Column('at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('case_view',
    sa.Column('case_id', sa.String(length=24), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('due_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('case_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_view_grid_code'), ['grid_code'], unique=False)

    op.create_table('closed_periods',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('closed_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('period')
    )
    op.create_table('flags',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('flag', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('raised_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period', 'grid_code', 'flag', name='uq_flag_once')
    )

    op.create_table('grid_metrics',
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('handled', sa.Integer(), nullable=False),
    sa.Column('handled_on_time', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('escalated', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('extended', sa.Integer(), nullable=False),
    sa.Column('sla_breaches', sa.Integer(), nullable=False),
    sa.Column('found_by_public', sa.Integer(), nullable=False),
    sa.Column('found_by_city', sa.Integer(), nullable=False),
    sa.Column('found_by_patrol', sa.Integer(), nullable=False),
    sa.Column('patrol_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('grid_code', 'month')
    )

    op.create_table('inspections',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('inspector', sa.String(length=100), nullable=False),
    sa.Column('inspecting_grid', sa.String(length=19), nullable=False),
    sa.Column('inspected_grid', sa.String(length=19), nullable=False),
    sa.Column('held_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspections_inspected_grid'), ['inspected_grid'], unique=False)

    op.create_table('meetings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('held_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('attendees', sa.JSON(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meetings_grid_code'), ['grid_code'], unique=False)

    op.create_table('patrol_days',
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('grid_code', 'day')
    )
    op.create_table('result_sets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('rule_version', sa.Integer(), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('result_sets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_sets_period'), ['period'], unique=False)

    op.create_table('results',
    sa.Column('result_set', sa.Integer(), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('score', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('grade', sa.String(length=10), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('siblings', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.JSON(), nullable=False),
    sa.Column('counters', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('result_set', 'grid_code')
    )
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index('ix_results_set_level', ['result_set', 'level'], unique=False)

    op.create_table('rule_sets',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('subsidies',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('person_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('grade', sa.String(length=10), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('result_set', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('period', 'grid_code', 'person_id', name='uq_subsidy_once')
    )



def downgrade() -> None:

    op.drop_table('subsidies')
    op.drop_table('rule_sets')
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index('ix_results_set_level')

    op.drop_table('results')
    with op.batch_alter_table('result_sets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_sets_period'))

    op.drop_table('result_sets')
    op.drop_table('patrol_days')
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meetings_grid_code'))

    op.drop_table('meetings')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspections_inspected_grid'))

    op.drop_table('inspections')
    op.drop_table('grid_metrics')
    op.drop_table('flags')
    op.drop_table('closed_periods')
    with op.batch_alter_table('case_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_view_grid_code'))

    op.drop_table('case_view')
    op.drop_table('adjustments')

