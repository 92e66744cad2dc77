"""reports evidence patrols reference

Revision ID: incidents_0001
Revises: 
Create Date: 2026-11-28 17:38:31.103159
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'incidents_0001'
down_revision = None
branch_labels = ('incidents',)
depends_on = None


def upgrade() -> None:

    op.create_table('categories',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('district_outline',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('code', sa.String(length=19), nullable=False),
    sa.Column('boundary', sa.Text(), nullable=False),
    sa.Column('fetched_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('evidence',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mime', sa.String(length=50), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('exif_lon', sa.Float(), nullable=True),
    sa.Column('exif_lat', sa.Float(), nullable=True),
    sa.Column('exif_taken_at', sa.String(length=30), nullable=True),
    sa.Column('has_thumbnail', sa.Boolean(), nullable=False),
    sa.Column('first_uploaded_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('patrols',
    sa.Column('patrol_id', sa.String(length=24), nullable=False),
    sa.Column('grid_code', sa.String(length=19), nullable=False),
    sa.Column('staff', sa.String(length=100), nullable=False),
    sa.Column('started_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('track', sa.JSON(), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('patrol_id')
    )
    with op.batch_alter_table('patrols', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patrols_grid_code'), ['grid_code'], unique=False)

    op.create_table('reporter_access_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.String(length=24), nullable=False),
    sa.Column('viewer', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reporter_access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporter_access_log_incident_id'), ['incident_id'], unique=False)

    op.create_table('reports',
    sa.Column('incident_id', sa.String(length=24), nullable=False),
    sa.Column('tracking_code', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('major', sa.Boolean(), nullable=False),
    sa.Column('observed_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reported_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('datum_received', sa.String(length=8), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('grid_hint', sa.String(length=19), nullable=True),
    sa.Column('outside_district', sa.Boolean(), nullable=True),
    sa.Column('category_verified', sa.Boolean(), nullable=False),
    sa.Column('needs_operator', sa.Boolean(), nullable=False),
    sa.Column('reporter_name_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('reporter_phone_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('reported_by', sa.String(length=100), nullable=True),
    sa.Column('handled_on_spot', sa.Boolean(), nullable=False),
    sa.Column('duplicate_of', sa.String(length=24), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('public_answer', sa.Text(), nullable=True),
    sa.Column('case_id', sa.String(length=40), nullable=True),
    sa.Column('city_reference', sa.String(length=100), nullable=True),
    sa.Column('city', sa.JSON(), nullable=True),
    sa.Column('patrol_id', sa.String(length=24), nullable=True),
    sa.Column('updated_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['duplicate_of'], ['reports.incident_id'], ),
    sa.PrimaryKeyConstraint('incident_id'),
    sa.UniqueConstraint('city_reference'),
    sa.UniqueConstraint('tracking_code')
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_open_by_category', ['category', 'status', 'reported_at'], unique=False)
        batch_op.create_index('ix_reports_reported_at', ['reported_at'], unique=False)

    op.create_table('report_evidence',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.String(length=24), nullable=True),
    sa.Column('patrol_id', sa.String(length=24), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('added_by', sa.String(length=100), nullable=False),
    sa.Column('added_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['reports.incident_id'], ),
    sa.ForeignKeyConstraint(['patrol_id'], ['patrols.patrol_id'], ),
    sa.ForeignKeyConstraint(['sha256'], ['evidence.sha256'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_evidence_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_evidence_patrol_id'), ['patrol_id'], unique=False)

    op.create_table('report_updates',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['reports.incident_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('report_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_updates_incident_id'), ['incident_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('report_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_updates_incident_id'))

    op.drop_table('report_updates')
    with op.batch_alter_table('report_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_evidence_patrol_id'))
        batch_op.drop_index(batch_op.f('ix_report_evidence_incident_id'))

    op.drop_table('report_evidence')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_reported_at')
        batch_op.drop_index('ix_reports_open_by_category')

    op.drop_table('reports')
    with op.batch_alter_table('reporter_access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reporter_access_log_incident_id'))

    op.drop_table('reporter_access_log')
    with op.batch_alter_table('patrols', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patrols_grid_code'))

    op.drop_table('patrols')
    op.drop_table('evidence')
    op.drop_table('district_outline')
    op.drop_table('categories')

