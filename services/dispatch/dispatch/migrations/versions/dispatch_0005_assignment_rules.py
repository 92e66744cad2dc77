"""assignment rules

Revision ID: dispatch_0005
Revises: dispatch_0004
Create Date: 2026-11-28 18:43:11.742863
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'dispatch_0005'
down_revision = 'dispatch_0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('assignment_rules',
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'category')
    )



def downgrade() -> None:

    op.drop_table('assignment_rules')

