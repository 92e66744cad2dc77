"""api keys accounts refresh tokens

Revision ID: gateway_0001
Revises: 
Create Date: 2026-11-28 17:59:48.942779
"""
import sqlalchemy as sa
from alembic import op

import servicekit.tables  # noqa: F401 - autogenerate renders UtcDateTime by its full path

revision = 'gateway_0001'
down_revision = None
branch_labels = ('gateway',)
depends_on = None


def upgrade() -> None:

    op.create_table('accounts',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('person_id', sa.String(length=40), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('grids', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('username')
    )
    op.create_table('api_keys',
    sa.Column('key_id', sa.String(length=24), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('grids', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('revoked_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key_id'),
    sa.UniqueConstraint('sha256')
    )
    op.create_table('refresh_tokens',
    sa.Column('token_id', sa.String(length=40), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('family', sa.String(length=40), nullable=False),
    sa.Column('expires_at', servicekit.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', servicekit.tables.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['accounts.username'], ),
    sa.PrimaryKeyConstraint('token_id')
    )
    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_refresh_tokens_family', ['family'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_refresh_tokens_family')

    op.drop_table('refresh_tokens')
    op.drop_table('api_keys')
    op.drop_table('accounts')

