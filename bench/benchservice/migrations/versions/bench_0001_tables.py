"""bench service tables

Revision ID: bench_0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "bench_0001"
down_revision = None
branch_labels = ("bench",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bench_pings",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("run", sa.String(20), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("handled_at", sa.Float(53), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("bench_pings")
