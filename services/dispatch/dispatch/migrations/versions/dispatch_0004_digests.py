"""digests

Revision ID: dispatch_0004
Revises: dispatch_0003
Create Date: 2026-11-28 17:51:29.674374
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'dispatch_0004'
down_revision = 'dispatch_0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('digests',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('grids', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )



def downgrade() -> None:

    op.drop_table('digests')

