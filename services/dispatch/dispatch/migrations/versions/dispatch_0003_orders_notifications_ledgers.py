"""orders notifications rectifications

Revision ID: dispatch_0003
Revises: dispatch_0002
Create Date: 2026-11-28 17:50:43.870021
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'dispatch_0003'
down_revision = 'dispatch_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=24), nullable=True),
    sa.Column('grid_code', sa.String(length=19), nullable=True),
    sa.Column('audience', sa.String(length=30), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('mobiles', sa.JSON(), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('log', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_case_id'), ['case_id'], unique=False)

    op.create_table('orders',
    sa.Column('order_id', sa.String(length=24), nullable=False),
    sa.Column('incident_id', sa.String(length=24), nullable=False),
    sa.Column('city_reference', sa.String(length=100), nullable=True),
    sa.Column('order_kind', sa.String(length=30), nullable=False),
    sa.Column('alert_level', sa.String(length=10), nullable=False),
    sa.Column('window_start', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('window_end', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id'),
    sa.UniqueConstraint('incident_id')
    )
    op.create_table('order_tasks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=24), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('acknowledged_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
    sa.Column('measures_reported_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('measures', sa.Text(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'grid_code', name='uq_order_task_grid')
    )
    with op.batch_alter_table('order_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_tasks_order_id'), ['order_id'], unique=False)

    op.create_table('rectifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=24), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('responsible', sa.String(length=100), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('ordered_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ordered_by', sa.String(length=100), nullable=False),
    sa.Column('follow_ups', sa.JSON(), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.case_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectifications_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectifications_grid_code'), ['grid_code'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectifications_grid_code'))
        batch_op.drop_index(batch_op.f('ix_rectifications_case_id'))

    op.drop_table('rectifications')
    with op.batch_alter_table('order_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_tasks_order_id'))

    op.drop_table('order_tasks')
    op.drop_table('orders')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_case_id'))

    op.drop_table('notifications')

