"""SQLAlchemy tables owned by dispatch. The kit's own tables (outbox, inbox) are not here."""
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table

metadata = MetaData()

# Dispatch's copy of the grid tree, kept from grid.* events (and the registry's snapshot
# when it starts empty): cases climb parent chains and notify leaders without asking
# the registry, so the registry being down never stops an escalation.
grid_view = Table(
    "grid_view", metadata,
    Column("code", String(19), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", Integer, nullable=False),
    Column("parent_code", String(19), nullable=True, index=True),
    Column("kind", String(40), nullable=False),
    Column("status", String(10), nullable=False),
    Column("version", Integer, nullable=False),
)

grid_members = Table(
    "grid_members", metadata,
    Column("membership_id", Integer, primary_key=True, autoincrement=False),
    Column("grid_code", String(19), nullable=False, index=True),
    Column("person_id", String(40), nullable=False),
    Column("name", String(50), nullable=False),
    Column("phone", String(20), nullable=False),
    Column("role", String(30), nullable=False),
    Column("leads", Boolean, nullable=False),
    # A removal may arrive before the assignment it ends (events are not ordered across
    # redeliveries); the row stays as a tombstone so the late assignment is ignored.
    Column("removed", Boolean, nullable=False),
)
