"""reports.cell and the index of the duplicate lookup

Revision ID: incidents_0002
Revises: incidents_0001
Create Date: 2026-11-28 21:00:00.000000

Every report with a position gets the coarse cell it falls in (a square of 0.005°,
as `incidents.domain.cell_of` computes it), and the duplicate lookup reads
(cell, category, reported_at) of the reports that are not themselves duplicates.
Existing rows are filled here. The formula is written out rather than imported: a
migration stays as it was when it ran.
"""
import math

import sqlalchemy as sa
from alembic import op

revision = 'incidents_0002'
down_revision = 'incidents_0001'
branch_labels = None
depends_on = None

CELLS_PER_DEGREE = 200
ROW = 100_000
NOT_A_DUPLICATE = sa.text('duplicate_of IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cell', sa.Integer(), nullable=True))

    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        # float8 * integer and floor() in PostgreSQL round exactly as Python's float does.
        op.execute(f'UPDATE reports SET cell = CAST(floor(lat * {CELLS_PER_DEGREE}) AS INTEGER) * {ROW}'
                   f' + CAST(floor(lon * {CELLS_PER_DEGREE}) AS INTEGER)'
                   ' WHERE lon IS NOT NULL AND lat IS NOT NULL')
    else:  # SQLite may lack floor(): fill from Python
        reports = sa.table('reports', sa.column('incident_id', sa.String), sa.column('lon', sa.Float),
                           sa.column('lat', sa.Float), sa.column('cell', sa.Integer))
        rows = bind.execute(sa.select(reports.c.incident_id, reports.c.lon, reports.c.lat)
                            .where(reports.c.lon.is_not(None), reports.c.lat.is_not(None))).all()
        if rows:
            bind.execute(reports.update().where(reports.c.incident_id == sa.bindparam('id'))
                         .values(cell=sa.bindparam('value')),
                         [{'id': r.incident_id, 'value': math.floor(r.lat * CELLS_PER_DEGREE) * ROW
                           + math.floor(r.lon * CELLS_PER_DEGREE)} for r in rows])

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_nearby', ['cell', 'category', 'reported_at'], unique=False,
                              postgresql_where=NOT_A_DUPLICATE, sqlite_where=NOT_A_DUPLICATE)


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_nearby', postgresql_where=NOT_A_DUPLICATE,
                            sqlite_where=NOT_A_DUPLICATE)
        batch_op.drop_column('cell')
