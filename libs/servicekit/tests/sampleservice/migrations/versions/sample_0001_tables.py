"""sample service tables

Revision ID: sample_0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

from servicekit.tables import UtcDateTime

revision = "sample_0001"
down_revision = None
branch_labels = ("sample",)
depends_on = None


def upgrade() -> None:
    op.create_table("jobs", sa.Column("job_id", sa.String(40), primary_key=True),
                    sa.Column("note", sa.String(100), nullable=False))
    op.create_table("work_log", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("job_id", sa.String(40), nullable=False),
                    sa.Column("event_id", sa.String(36), nullable=False),
                    sa.Column("pid", sa.Integer, nullable=False), sa.Column("at", UtcDateTime, nullable=False))
    op.create_table("blocked_jobs", sa.Column("job_id", sa.String(40), primary_key=True))


def downgrade() -> None:
    op.drop_table("blocked_jobs")
    op.drop_table("work_log")
    op.drop_table("jobs")
