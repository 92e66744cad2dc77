"""envgrid_gridview: the grid read model (grid_view, grid_members)

Revision ID: gridview_0001
Revises: 
Create Date: 2026-11-28 17:23:08.992622
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'gridview_0001'
down_revision = None
branch_labels = ('gridview',)
depends_on = None


def upgrade() -> None:

    op.create_table('grid_members',
    sa.Column('membership_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('person_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('leads', sa.Boolean(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('membership_id')
    )
    with op.batch_alter_table('grid_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grid_members_grid_code'), ['grid_code'], unique=False)

    op.create_table('grid_view',
    sa.Column('code', sa.String(length=19), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('parent_code', sa.String(length=19), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('grid_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grid_view_parent_code'), ['parent_code'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('grid_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grid_view_parent_code'))

    op.drop_table('grid_view')
    with op.batch_alter_table('grid_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grid_members_grid_code'))

    op.drop_table('grid_members')

