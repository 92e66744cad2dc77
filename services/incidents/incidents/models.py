"""SQLAlchemy tables owned by incidents. The kit's own tables (outbox, inbox) are not here."""
from sqlalchemy import (JSON, Boolean, Column, Float, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        String, Table, Text)

from servicekit.tables import UtcDateTime

metadata = MetaData()

reports = Table(
    "reports", metadata,
    Column("incident_id", String(24), primary_key=True),
    # The reporter's key to the tracking page: short, unguessable, unique.
    Column("tracking_code", String(16), nullable=False, unique=True),
    Column("channel", String(20), nullable=False),
    Column("category", String(40), nullable=False),
    Column("description", Text, nullable=False),
    Column("severity", String(10), nullable=False),
    Column("major", Boolean, nullable=False),
    Column("observed_at", UtcDateTime, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("lon", Float, nullable=True),  # WGS-84
    Column("lat", Float, nullable=True),
    Column("datum_received", String(8), nullable=True),
    Column("address", String(200), nullable=True),
    Column("grid_hint", String(19), nullable=True),
    Column("outside_district", Boolean, nullable=True),  # None: not yet checkable
    Column("category_verified", Boolean, nullable=False),
    Column("needs_operator", Boolean, nullable=False),
    # Reporter identity: sealed (AES-GCM) with a key from the environment; null when anonymous.
    Column("reporter_name_sealed", LargeBinary, nullable=True),
    Column("reporter_phone_sealed", LargeBinary, nullable=True),
    Column("reported_by", String(100), nullable=True),  # staff or operator account
    Column("handled_on_spot", Boolean, nullable=False),
    Column("duplicate_of", String(24), ForeignKey("reports.incident_id"), nullable=True),
    Column("status", String(20), nullable=False),  # the public status
    Column("public_answer", Text, nullable=True),
    Column("case_id", String(40), nullable=True),
    Column("city_reference", String(100), nullable=True, unique=True),
    Column("city", JSON, nullable=True),
    Column("patrol_id", String(24), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    # The coarse square the position falls in (domain.cell_of); null without a position.
    Column("cell", Integer, nullable=True),
)
Index("ix_reports_open_by_category", reports.c.category, reports.c.status, reports.c.reported_at)
# The duplicate lookup: the reports in the cells around a point, of a category, recent enough;
# only reports that are not themselves duplicates can be linked to.
Index("ix_reports_nearby", reports.c.cell, reports.c.category, reports.c.reported_at,
      postgresql_where=reports.c.duplicate_of.is_(None), sqlite_where=reports.c.duplicate_of.is_(None))
Index("ix_reports_reported_at", reports.c.reported_at)

# The reporter's timeline on the tracking page: public statuses and answers only.
report_updates = Table(
    "report_updates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(24), ForeignKey("reports.incident_id"), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("note", Text, nullable=True),
    Column("at", UtcDateTime, nullable=False),
)

evidence = Table(
    "evidence", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("mime", String(50), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("exif_lon", Float, nullable=True),
    Column("exif_lat", Float, nullable=True),
    Column("exif_taken_at", String(30), nullable=True),
    Column("has_thumbnail", Boolean, nullable=False),
    Column("first_uploaded_at", UtcDateTime, nullable=False),
)

report_evidence = Table(
    "report_evidence", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(24), ForeignKey("reports.incident_id"), nullable=True, index=True),
    Column("patrol_id", String(24), ForeignKey("patrols.patrol_id"), nullable=True, index=True),
    Column("sha256", String(64), ForeignKey("evidence.sha256"), nullable=False),
    Column("added_by", String(100), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
)

patrols = Table(
    "patrols", metadata,
    Column("patrol_id", String(24), primary_key=True),
    Column("grid_code", String(19), nullable=False, index=True),
    Column("staff", String(100), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Column("track", JSON, nullable=False),  # [[lon, lat, "ISO time"], ...] (WGS-84)
    Column("distance_m", Float, nullable=False),
    Column("notes", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# Every reading of a reporter's identity: who, when, which report (the reward office only).
reporter_access_log = Table(
    "reporter_access_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(24), nullable=False, index=True),
    Column("viewer", String(100), nullable=False),
    Column("purpose", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

# Reference data copied from the registry (refreshed by a worker timer), so intake
# never waits for, or fails because of, the registry.
categories = Table(
    "categories", metadata,
    Column("code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("active", Boolean, nullable=False),
)

district_outline = Table(
    "district_outline", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("code", String(19), nullable=False),
    Column("boundary", Text, nullable=False),  # GeoJSON
    Column("fetched_at", UtcDateTime, nullable=False),
)
