"""SQLAlchemy tables owned by the grid registry. The kit's own tables (outbox, inbox) are not here.

Boundaries are stored as GeoJSON text: the registry computes with shapely in
process (STRtree), so it needs no spatial database, and SQLite and PostgreSQL
behave the same.
"""
from sqlalchemy import (JSON, Boolean, Column, Date, ForeignKey, Index, Integer, MetaData, String, Table,
                        Text, UniqueConstraint)

from servicekit.tables import UtcDateTime

metadata = MetaData()

grids = Table(
    "grids", metadata,
    Column("code", String(19), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", Integer, nullable=False),
    Column("parent_code", String(19), ForeignKey("grids.code"), nullable=True),
    Column("kind", String(40), nullable=False),
    Column("boundary", Text, nullable=False),  # GeoJSON geometry
    Column("four_sides", JSON, nullable=False),  # {"east": "东至…", "south": …, "west": …, "north": …}
    Column("address", String(200), nullable=True),
    Column("status", String(10), nullable=False),  # active | retired
    Column("replaced_by", JSON, nullable=True),  # codes that took over a retired grid (split/merge)
    Column("retire_reason", String(200), nullable=True),
    # Search keys: full pinyin and initials of the name ("fengtaishequ", "ftsq").
    Column("name_pinyin", String(400), nullable=False),
    Column("name_initials", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_grids_parent", grids.c.parent_code)
Index("ix_grids_level_status", grids.c.level, grids.c.status)

# Every version of every grid, so that a case pointing at a retired or changed grid can
# still be shown with the grid as it was.
grid_history = Table(
    "grid_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(19), ForeignKey("grids.code"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("change", String(20), nullable=False),  # created | updated | retired
    Column("state", JSON, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("code", "version", name="uq_grid_history_code_version"),
)

people = Table(
    "people", metadata,
    Column("person_id", String(40), primary_key=True),
    Column("name", String(50), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("title", String(100), nullable=False),
    Column("name_pinyin", String(200), nullable=False),
    Column("name_initials", String(50), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

memberships = Table(
    "memberships", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person_id", String(40), ForeignKey("people.person_id"), nullable=False, index=True),
    Column("grid_code", String(19), ForeignKey("grids.code"), nullable=False, index=True),
    Column("role", String(30), nullable=False),
    Column("since", UtcDateTime, nullable=False),
    Column("until", UtcDateTime, nullable=True),  # null while the role is held
)
# One person holds one role in one grid once at a time (a partial unique index on both databases).
Index("uq_memberships_active", memberships.c.person_id, memberships.c.grid_code, memberships.c.role,
      unique=True, postgresql_where=memberships.c.until.is_(None), sqlite_where=memberships.c.until.is_(None))

departments = Table(
    "departments", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("phone", String(20), nullable=True),
    Column("active", Boolean, nullable=False),
)

categories = Table(
    "categories", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("group", String(20), nullable=False),  # campaign | field | city (专项任务 / 常见问题 / 市级转办)
    Column("first_level", Integer, nullable=False),  # the level expected to handle it first
    Column("department_code", String(40), ForeignKey("departments.code"), nullable=False),
    Column("active", Boolean, nullable=False),
)

# Duties per level (附件3 责任清单), printed on notice boards.
responsibilities = Table(
    "responsibilities", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("level", Integer, nullable=False, index=True),
    Column("ordinal", Integer, nullable=False),
    Column("text", String(500), nullable=False),
)

# 污染源台账: the pollution-source ledger kept complete by every level-3 grid.
sources = Table(
    "pollution_sources", metadata,
    Column("source_id", String(40), primary_key=True),
    Column("grid_code", String(19), ForeignKey("grids.code"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("pollutants", JSON, nullable=False),
    Column("equipment", JSON, nullable=False),  # [{"name": "油烟净化器", "running": true}]
    Column("permit_no", String(100), nullable=True),
    Column("permit_valid_until", Date, nullable=True),
    Column("responsible_person", String(50), nullable=False),
    Column("responsible_phone", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("address", String(200), nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

source_history = Table(
    "pollution_source_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(40), ForeignKey("pollution_sources.source_id"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("state", JSON, nullable=False),
    Column("changed", JSON, nullable=False),
    Column("note", String(500), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("source_id", "version", name="uq_source_history_version"),
)
