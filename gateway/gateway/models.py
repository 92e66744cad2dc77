"""Tables of the gateway: machine clients' API keys, people's accounts, refresh tokens."""
from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, MetaData, String, Table

from servicekit.tables import UtcDateTime

metadata = MetaData()

api_keys = Table(
    "api_keys", metadata,
    Column("key_id", String(24), primary_key=True),        # shown to admins; the first characters of the key
    Column("sha256", String(64), nullable=False, unique=True),  # the key itself is never stored
    Column("subject", String(100), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("grids", JSON, nullable=False),
    Column("note", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

accounts = Table(
    "accounts", metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(200), nullable=False),  # pbkdf2_sha256$iterations$salt$hash
    Column("display_name", String(50), nullable=False),
    # The registry person this account is; their roles in grids give the scope.
    Column("person_id", String(40), nullable=True),
    Column("roles", JSON, nullable=False),
    Column("grids", JSON, nullable=False),  # last scope known (used when the registry cannot be asked)
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

refresh_tokens = Table(
    "refresh_tokens", metadata,
    Column("token_id", String(40), primary_key=True),
    Column("username", String(64), ForeignKey("accounts.username"), nullable=False),
    Column("family", String(40), nullable=False),  # one login's chain of rotated tokens
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)
Index("ix_refresh_tokens_family", refresh_tokens.c.family)
