"""SQLAlchemy tables owned by assessment. The kit's own tables (outbox, inbox) are not here."""
from envgrid_gridview import define_tables
from sqlalchemy import (JSON, Column, Date, Index, Integer, MetaData, Numeric, String, Table, Text,
                        UniqueConstraint)

from servicekit.tables import UtcDateTime

metadata = MetaData()

# The grid tree and its people (envgrid_gridview): levels, siblings to rank among, staff to pay.
GRID = define_tables(metadata)
grid_view, grid_members = GRID.grids, GRID.members

# Counters per grid and month (Asia/Shanghai), kept incrementally from events; a quarter
# or a year is the sum of its months.
COUNTERS = ("received", "handled", "handled_on_time", "closed", "escalated", "reopened", "extended",
            "sla_breaches", "found_by_public", "found_by_city", "found_by_patrol", "patrol_days")
metrics = Table(
    "grid_metrics", metadata,
    Column("grid_code", String(19), primary_key=True),
    Column("month", String(7), primary_key=True),  # "2026-11"
    *[Column(name, Integer, nullable=False, default=0) for name in COUNTERS],
    Column("updated_at", UtcDateTime, nullable=False),
)

patrol_days = Table(
    "patrol_days", metadata,
    Column("grid_code", String(19), primary_key=True),
    Column("day", Date, primary_key=True),  # Asia/Shanghai date
)

# Each case as assessment last heard of it: to count what is still open past its deadline.
case_view = Table(
    "case_view", metadata,
    Column("case_id", String(24), primary_key=True),
    Column("grid_code", String(19), nullable=True, index=True),
    Column("state", String(12), nullable=False),
    Column("due_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

meetings = Table(
    "meetings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("grid_code", String(19), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # joint | topic | briefing (联席会议/专题会议/碰头会)
    Column("held_at", UtcDateTime, nullable=False),
    Column("attendees", JSON, nullable=False),
    Column("minutes", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

inspections = Table(
    "inspections", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("inspector", String(100), nullable=False),
    Column("inspecting_grid", String(19), nullable=False),
    Column("inspected_grid", String(19), nullable=False, index=True),
    Column("held_at", UtcDateTime, nullable=False),
    Column("findings", Text, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

rule_sets = Table(
    "rule_sets", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("rules", JSON, nullable=False),
    Column("note", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
)

closed_periods = Table(
    "closed_periods", metadata,
    Column("period", String(7), primary_key=True),  # a month; quarters and years are scored, not closed
    Column("closed_at", UtcDateTime, nullable=False),
    Column("closed_by", String(100), nullable=False),
)

# An event that arrives for a month already closed counts in the current month instead,
# recorded here: late news is an adjustment, never a silent rewrite of a published score.
adjustments = Table(
    "adjustments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("grid_code", String(19), nullable=True),
    Column("belongs_to", String(7), nullable=False),
    Column("counted_in", String(7), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

result_sets = Table(
    "result_sets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(7), nullable=False, index=True),
    Column("rule_version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
)

results = Table(
    "results", metadata,
    Column("result_set", Integer, primary_key=True),
    Column("grid_code", String(19), primary_key=True),
    Column("level", Integer, nullable=False),
    Column("score", Numeric(6, 2), nullable=False),
    Column("grade", String(10), nullable=False),
    Column("rank", Integer, nullable=False),
    Column("siblings", Integer, nullable=False),
    Column("explanation", JSON, nullable=False),
    Column("counters", JSON, nullable=False),
)

subsidies = Table(
    "subsidies", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(7), nullable=False),
    Column("grid_code", String(19), nullable=False),
    Column("person_id", String(40), nullable=False),
    Column("name", String(50), nullable=False),
    Column("role", String(30), nullable=False),
    Column("grade", String(10), nullable=False),
    Column("amount_fen", Integer, nullable=False),
    Column("result_set", Integer, nullable=False),
    # Once per period, grid and person: a recomputation never pays twice.
    UniqueConstraint("period", "grid_code", "person_id", name="uq_subsidy_once"),
)

flags = Table(
    "flags", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period", String(7), nullable=False),
    Column("grid_code", String(19), nullable=False),
    Column("flag", String(40), nullable=False),
    Column("reason", String(300), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("raised_at", UtcDateTime, nullable=False),
    UniqueConstraint("period", "grid_code", "flag", name="uq_flag_once"),
)
Index("ix_results_set_level", results.c.result_set, results.c.level)
