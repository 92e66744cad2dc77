"""SQLAlchemy tables owned by dispatch. The kit's own tables (outbox, inbox) are not here."""
from sqlalchemy import (JSON, Boolean, Column, Date, Float, ForeignKey, Index, Integer, MetaData, String, Table,
                        Text, UniqueConstraint, and_)

from envgrid_gridview import define_tables

from servicekit.tables import UtcDateTime

metadata = MetaData()

# Dispatch's copy of the grid tree (envgrid_gridview): cases climb parent chains and
# notify leaders without asking the registry, so the registry being down never stops
# an escalation.
GRID = define_tables(metadata)
grid_view, grid_members = GRID.grids, GRID.members

cases = Table(
    "cases", metadata,
    Column("case_id", String(24), primary_key=True),
    Column("state", String(12), nullable=False),
    Column("grid_code", String(19), nullable=True, index=True),  # where it sits now; null until located
    Column("level", Integer, nullable=True),
    Column("category", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("supervision", String(10), nullable=False),  # general | urgent | important (定期/迅速/全程督办)
    Column("major", Boolean, nullable=False),
    Column("emergency", Boolean, nullable=False),
    Column("policy_version", Integer, nullable=False),  # the SLA policy it started with stays with it
    Column("assigned_at", UtcDateTime, nullable=True),
    Column("due_at", UtcDateTime, nullable=True),
    Column("paused_at", UtcDateTime, nullable=True),  # an extension request is waiting
    Column("rework_count", Integer, nullable=False),
    Column("escalations", Integer, nullable=False),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("address", String(200), nullable=True),
    Column("outside_district", Boolean, nullable=True),
    Column("flagged", String(200), nullable=True),  # why the supervisor must look (a breach at the top, ...)
    Column("city", JSON, nullable=True),
    Column("department_code", String(40), nullable=True),
    Column("referred_to", String(12), nullable=True),  # department | city
    Column("verified_true", Boolean, nullable=True),
    Column("handled_on_spot", Boolean, nullable=False),
    Column("first_incident", String(24), nullable=False),
    # Optimistic locking: every change bumps it, and an action names the version it saw.
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
)
Index("ix_cases_state_due", cases.c.state, cases.c.due_at)

case_incidents = Table(
    "case_incidents", metadata,
    Column("incident_id", String(24), primary_key=True),
    Column("case_id", String(24), ForeignKey("cases.case_id"), nullable=False, index=True),
    Column("attached_at", UtcDateTime, nullable=False),
)

case_history = Table(
    "case_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(24), ForeignKey("cases.case_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(30), nullable=False),
    Column("from_state", String(12), nullable=True),
    Column("to_state", String(12), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("role", String(30), nullable=False),
    Column("grid_code", String(19), nullable=True),
    Column("at", String(40), nullable=False),  # ISO text exactly as hashed
    Column("note", Text, nullable=True),
    Column("evidence", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("case_id", "seq", name="uq_case_history_seq"),
)

case_timers = Table(
    "case_timers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(24), ForeignKey("cases.case_id"), nullable=False, index=True),
    Column("kind", String(12), nullable=False),  # warn_50 | warn_75 | breach
    Column("due_at", UtcDateTime, nullable=False),
    Column("fired_at", UtcDateTime, nullable=True),
    Column("cancelled", Boolean, nullable=False),
)
# Only live timers: a year of cases handled before their deadlines leaves hundreds of thousands
# of cancelled ones, which an index on fired_at IS NULL alone made every idle sweep walk
# (bench/dispatch_bench.py: 196 ms a sweep with 224,000 cancelled, 1 ms with this index).
_LIVE = and_(case_timers.c.fired_at.is_(None), case_timers.c.cancelled.is_(False))
Index("ix_case_timers_live", case_timers.c.due_at, postgresql_where=_LIVE, sqlite_where=_LIVE)

# Closure reports owed to the city platform (回报销号), delivered until acknowledged.
callbacks = Table(
    "city_callbacks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(24), ForeignKey("cases.case_id"), nullable=False, unique=True),
    Column("url", String(500), nullable=False),
    Column("payload", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("log", JSON, nullable=False),  # [{"at", "status", "error"}], every attempt
)

categories = Table(
    "categories", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("first_level", Integer, nullable=False),
    Column("department_code", String(40), nullable=False),
    Column("active", Boolean, nullable=False),
)

calendar_overrides = Table(
    "calendar_overrides", metadata,
    Column("day", Date, primary_key=True),
    Column("workday", Boolean, nullable=False),
    Column("note", String(100), nullable=False),
)

orders = Table(
    "orders", metadata,
    Column("order_id", String(24), primary_key=True),
    Column("incident_id", String(24), nullable=False, unique=True),
    Column("city_reference", String(100), nullable=True),
    Column("order_kind", String(30), nullable=False),
    Column("alert_level", String(10), nullable=False),
    Column("window_start", UtcDateTime, nullable=False),
    Column("window_end", UtcDateTime, nullable=False),
    Column("measures", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

order_tasks = Table(
    "order_tasks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(24), ForeignKey("orders.order_id"), nullable=False, index=True),
    Column("grid_code", String(19), nullable=False),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("acknowledged_by", String(100), nullable=True),
    Column("measures_reported_at", UtcDateTime, nullable=True),
    Column("measures", Text, nullable=True),
    Column("evidence", JSON, nullable=False),
    UniqueConstraint("order_id", "grid_code", name="uq_order_task_grid"),
)

# Messages to the people of a grid, delivered by a worker timer through an adapter
# (a webhook, or a WeChat Work group robot), retried, every attempt logged. A case
# action never waits for a notification.
notifications = Table(
    "notifications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(24), nullable=True, index=True),
    Column("grid_code", String(19), nullable=True),
    Column("audience", String(30), nullable=False),  # grid_leaders | supervision_office | district
    Column("text", Text, nullable=False),
    Column("mobiles", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("log", JSON, nullable=False),
)

# 整改台账: what a handled case ordered to be put right, by whom, by when, and the follow-ups.
rectifications = Table(
    "rectifications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(24), ForeignKey("cases.case_id"), nullable=False, index=True),
    Column("grid_code", String(19), nullable=False, index=True),
    Column("what", Text, nullable=False),
    Column("responsible", String(100), nullable=False),
    Column("deadline", Date, nullable=False),
    Column("ordered_at", UtcDateTime, nullable=False),
    Column("ordered_by", String(100), nullable=False),
    Column("follow_ups", JSON, nullable=False),  # [{"at", "by", "result", "evidence"}]
    Column("result", String(20), nullable=False),  # ordered | done | failed
    Column("evidence", JSON, nullable=False),
)

# One row a day: the daily supervision digest was sent (定期督办).
digests = Table(
    "digests", metadata,
    Column("day", Date, primary_key=True),
    Column("sent_at", UtcDateTime, nullable=False),
    Column("grids", Integer, nullable=False),
)

# Which level first handles a report, by channel and category ("*" = any category): data the
# district edits. Without a matching rule: the category's own first level if above 4, else the
# deepest grid holding the position (level 4, or the level-5 point).
assignment_rules = Table(
    "assignment_rules", metadata,
    Column("channel", String(20), primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("level", Integer, nullable=False),
)
