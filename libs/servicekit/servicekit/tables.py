"""Tables every service has in its own database: the outbox, the inbox, probes.

They live in their own MetaData and their own Alembic branch ("servicekit"), so
each service migrates them with its own tables without copying their definition.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table,
                        Text, TypeDecorator)

kit_metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a busy table.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store times in UTC with tzinfo")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


outbox = Table(
    "outbox", kit_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(120), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
)
# The relay only ever looks at unsent rows: keep that index small on PostgreSQL.
Index("ix_outbox_unsent", outbox.c.next_attempt_at, outbox.c.id,
      postgresql_where=outbox.c.sent_at.is_(None), sqlite_where=outbox.c.sent_at.is_(None))

inbox = Table(
    "inbox", kit_metadata,
    Column("event_id", String(36), primary_key=True),
    Column("event_type", String(120), nullable=False),
    Column("processed_at", UtcDateTime, nullable=False),
)

# Operators' synthetic end-to-end check: a probe sent by one service, received by all.
probe_log = Table(
    "probe_log", kit_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("probe_id", String(36), nullable=False, index=True),
    Column("direction", String(8), nullable=False),  # "sent" | "received"
    Column("origin", String(40), nullable=False),
    Column("note", String(200), nullable=False),
    Column("event_id", String(36), nullable=True),
    Column("at", UtcDateTime, nullable=False),
)

# Answers to POSTs sent with an Idempotency-Key: a retry gets the first answer, and the
# change it made is made once. The row commits in the same transaction as the change.
idempotency_keys = Table(
    "idempotency_keys", kit_metadata,
    Column("scope", String(300), primary_key=True),  # method, route and caller
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
