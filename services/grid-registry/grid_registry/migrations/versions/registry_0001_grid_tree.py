"""grid tree, people, catalogue, pollution-source ledger

Revision ID: registry_0001
Revises: 
Create Date: 2026-11-28 17:21:39.281605
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables

revision = 'registry_0001'
down_revision = None
branch_labels = ('grid-registry',)
depends_on = None


def upgrade() -> None:

    op.create_table('departments',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('grids',
    sa.Column('code', sa.String(length=19), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('parent_code', sa.String(length=19), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('boundary', sa.Text(), nullable=False),
    sa.Column('four_sides', sa.JSON(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('replaced_by', sa.JSON(), nullable=True),
    sa.Column('retire_reason', sa.String(length=200), nullable=True),
    sa.Column('name_pinyin', sa.String(length=400), nullable=False),
    sa.Column('name_initials', sa.String(length=100), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['grids.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.create_index('ix_grids_level_status', ['level', 'status'], unique=False)
        batch_op.create_index('ix_grids_parent', ['parent_code'], unique=False)

    op.create_table('people',
    sa.Column('person_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('name_pinyin', sa.String(length=200), nullable=False),
    sa.Column('name_initials', sa.String(length=50), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_id')
    )
    op.create_table('responsibilities',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('responsibilities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_responsibilities_level'), ['level'], unique=False)

    op.create_table('categories',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('group', sa.String(length=20), nullable=False),
    sa.Column('first_level', sa.Integer(), nullable=False),
    sa.Column('department_code', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['department_code'], ['departments.code'], ),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('grid_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=19), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('change', sa.String(length=20), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['code'], ['grids.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code', 'version', name='uq_grid_history_code_version')
    )
    with op.batch_alter_table('grid_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grid_history_code'), ['code'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.String(length=40), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('since', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('until', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['grid_code'], ['grids.code'], ),
    sa.ForeignKeyConstraint(['person_id'], ['people.person_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_grid_code'), ['grid_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_memberships_active', ['person_id', 'grid_code', 'role'], unique=True, postgresql_where=sa.text('until IS NULL'), sqlite_where=sa.text('until IS NULL'))

    op.create_table('pollution_sources',
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('pollutants', sa.JSON(), nullable=False),
    sa.Column('equipment', sa.JSON(), nullable=False),
    sa.Column('permit_no', sa.String(length=100), nullable=True),
    sa.Column('permit_valid_until', sa.Date(), nullable=True),
    sa.Column('responsible_person', sa.String(length=50), nullable=False),
    sa.Column('responsible_phone', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grid_code'], ['grids.code'], ),
    sa.PrimaryKeyConstraint('source_id')
    )
    with op.batch_alter_table('pollution_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pollution_sources_grid_code'), ['grid_code'], unique=False)

    op.create_table('pollution_source_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('changed', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['pollution_sources.source_id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_id', 'version', name='uq_source_history_version')
    )
    with op.batch_alter_table('pollution_source_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pollution_source_history_source_id'), ['source_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('pollution_source_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pollution_source_history_source_id'))

    op.drop_table('pollution_source_history')
    with op.batch_alter_table('pollution_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pollution_sources_grid_code'))

    op.drop_table('pollution_sources')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_memberships_active', postgresql_where=sa.text('until IS NULL'), sqlite_where=sa.text('until IS NULL'))
        batch_op.drop_index(batch_op.f('ix_memberships_person_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_grid_code'))

    op.drop_table('memberships')
    with op.batch_alter_table('grid_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grid_history_code'))

    op.drop_table('grid_history')
    op.drop_table('categories')
    with op.batch_alter_table('responsibilities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responsibilities_level'))

    op.drop_table('responsibilities')
    op.drop_table('people')
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.drop_index('ix_grids_parent')
        batch_op.drop_index('ix_grids_level_status')

    op.drop_table('grids')
    op.drop_table('departments')

