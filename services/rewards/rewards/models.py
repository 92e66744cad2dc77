"""SQLAlchemy tables owned by rewards. The kit's own tables (outbox, inbox) are not here.

No reporter identity is stored here: reports are known by incident id and a
pseudonymous reporter key; the reward office reads the identity from incidents.
"""
from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text, or_

from servicekit.tables import UtcDateTime

metadata = MetaData()

# Public reports as intake announced them (channel, category, first or duplicate, pseudonyms).
reports = Table(
    "reports", metadata,
    Column("incident_id", String(24), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("category", String(40), nullable=False),
    Column("reporter_named", Boolean, nullable=False),
    Column("reporter_key", String(64), nullable=True, index=True),
    Column("tracking_key", String(64), nullable=True, unique=True),
    Column("duplicate_of", String(24), nullable=True),
    Column("reported_at", UtcDateTime, nullable=False),
)

awards = Table(
    "awards", metadata,
    Column("award_id", String(24), primary_key=True),
    Column("kind", String(10), nullable=False),  # reward | subsidy
    Column("incident_id", String(24), nullable=True, unique=True),  # one award per report, ever
    Column("case_id", String(24), nullable=True),
    Column("subsidy_key", String(80), nullable=True, unique=True),  # period:grid:person, paid once
    Column("payee_ref", String(80), nullable=False),  # reporter pseudonym, or the staff member's person id
    Column("payee_name", String(50), nullable=True),  # staff only: a reporter's name is never copied here
    Column("year", Integer, nullable=False),
    Column("amount_fen", Integer, nullable=False),
    Column("tier_version", Integer, nullable=True),
    Column("why", JSON, nullable=False),
    Column("state", String(12), nullable=False),
    Column("claim_deadline", UtcDateTime, nullable=True),
    Column("proposed_at", UtcDateTime, nullable=False),
    Column("reviewed_by", String(100), nullable=True),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("approved_by", String(100), nullable=True),
    Column("approved_at", UtcDateTime, nullable=True),
    Column("closed_by", String(100), nullable=True),  # who paid, cancelled or clawed back
    Column("closed_at", UtcDateTime, nullable=True),
    Column("note", Text, nullable=True),
    Column("version", Integer, nullable=False),
)
Index("ix_awards_state", awards.c.state, awards.c.kind)

# One row per attempt to pay an award. A transfer the bank reports failed keeps its row
# (reconciled = failed) and the award is paid again under a new reference, as attempt n+1;
# so does a confirmed transfer the bank sends back later (退汇: reconciled = returned, the
# confirmation's reconciled_at/by kept, the return in returned_*).
# What makes money move once, whatever the code above does: at most one attempt of an
# award is neither failed nor returned (uq_payments_current), and two payers racing
# number their attempt alike (the key). The idempotency key makes a retried request a replay.
payments = Table(
    "payments", metadata,
    Column("award_id", String(24), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),  # 1, 2, … per award
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("channel", String(12), nullable=False),  # bank | wechat_pay | alipay
    Column("reference", String(100), nullable=False, unique=True),
    Column("amount_fen", Integer, nullable=False),
    Column("paid_by", String(100), nullable=False),
    Column("paid_at", UtcDateTime, nullable=False),
    Column("reconciled", String(10), nullable=True),  # confirmed | failed | returned (the bank's files)
    Column("reconciled_by", String(100), nullable=True),  # who recorded it confirmed or failed, and when
    Column("reconciled_at", UtcDateTime, nullable=True),
    Column("returned_by", String(100), nullable=True),  # who recorded the return, and when
    Column("returned_at", UtcDateTime, nullable=True),
    Column("returned_on", Date, nullable=True),  # the bank's return date, if its file gives one
    Column("return_reason", String(200), nullable=True),  # the bank's reason, if given
)
_CURRENT = or_(payments.c.reconciled.is_(None), payments.c.reconciled.not_in(("failed", "returned")))
Index("uq_payments_current", payments.c.award_id, unique=True, postgresql_where=_CURRENT, sqlite_where=_CURRENT)

# Append-only double-entry ledger (rewards.ledger explains the accounts). Entry ids are
# deterministic per award and step, so two writers recording the same step collide.
ledger_entries = Table(
    "ledger_entries", metadata,
    Column("entry_id", String(80), primary_key=True),
    Column("award_id", String(24), nullable=True, index=True),
    Column("kind", String(30), nullable=False),
    Column("debit", String(40), nullable=False),
    Column("credit", String(40), nullable=False),
    Column("amount_fen", Integer, nullable=False),
    Column("payout_kind", String(10), nullable=False),
    Column("reference", String(100), nullable=True),
    Column("value_date", Date, nullable=True),  # a returned payment: the bank's return date
    Column("reason", String(200), nullable=True),  # a returned payment: the bank's reason
    Column("at", UtcDateTime, nullable=False),
    Column("by", String(100), nullable=False),
)

budgets = Table(
    "budgets", metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("ceiling_fen", Integer, nullable=False),
    Column("granted_by", String(100), nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
)

tier_tables = Table(
    "tier_tables", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("table", JSON, nullable=False),
    Column("note", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

blacklist = Table(
    "blacklist", metadata,
    Column("reporter_key", String(64), primary_key=True),
    Column("reason", String(300), nullable=False),
    Column("added_by", String(100), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
)

# Every view of personal data through rewards (the reward office opening a reporter's identity).
access_log = Table(
    "access_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("award_id", String(24), nullable=False),
    Column("viewer", String(100), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
