"""A consuming service's read model of the grid tree (dispatch, assessment, ...).

The registry publishes grid.* and member.* events; a service that needs the tree
(parents to escalate to, leaders to notify, staff to pay) keeps its own copy in
its own database, in two tables it adds to its metadata with `define_tables`.
Each grid carries a version that only grows: an event older than the row held
(a redelivery, or an event overtaken by the snapshot) changes nothing. A service
that starts empty pages through the registry's snapshot once (`bootstrap`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from envgrid_contracts.grid import GRID_CREATED, GRID_RETIRED, GRID_UPDATED, MEMBER_ASSIGNED, MEMBER_REMOVED
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from servicekit.internal import get_json, service_url

log = logging.getLogger(__name__)

GRID_FIELDS = ("name", "level", "parent_code", "kind", "status", "version")

# The read model's own Alembic branch ("gridview"): a service using it lists this folder in
# its ServiceSpec.extra_migrations, so the two tables are migrated once, from here.
MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


@dataclass(frozen=True)
class GridTables:
    grids: Table
    members: Table


def define_tables(metadata: MetaData) -> GridTables:
    grids = Table(
        "grid_view", metadata,
        Column("code", String(19), primary_key=True),
        Column("name", String(100), nullable=False),
        Column("level", Integer, nullable=False),
        Column("parent_code", String(19), nullable=True, index=True),
        Column("kind", String(40), nullable=False),
        Column("status", String(10), nullable=False),
        Column("version", Integer, nullable=False),
    )
    members = Table(
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
    return GridTables(grids, members)


class GridReadModel:
    def __init__(self, tables: GridTables):
        self.t = tables
        # The reads on a consumer's hot path (dispatch's incident.reported climbs the chain and
        # looks up leaders for every report) are built once, with the grid code bound at
        # execution: building a SELECT and its cache key per call cost ~0.2 ms each time.
        grids, members = tables.grids, tables.members
        self._grid = select(grids).where(grids.c.code == bindparam("code"))
        current = select(members).where(members.c.grid_code == bindparam("code"), members.c.removed.is_(False))
        self._people = current.order_by(members.c.membership_id)
        self._leaders = current.where(members.c.leads.is_(True)).order_by(members.c.membership_id)

    # -- applying events ------------------------------------------------------------
    def apply_grid(self, session: Session, data: dict) -> bool:
        """Upsert a grid's state if it is newer than what is held. Returns whether it changed anything."""
        grids = self.t.grids
        held = session.execute(select(grids.c.version).where(grids.c.code == data["code"])).first()
        values = {k: data[k] for k in GRID_FIELDS}
        if held is None:
            session.execute(insert(grids).values(code=data["code"], **values))
            return True
        if data["version"] <= held.version:
            return False
        session.execute(update(grids).where(grids.c.code == data["code"]).values(**values))
        return True

    def apply_member(self, session: Session, data: dict, removed: bool) -> None:
        members = self.t.members
        held = session.execute(select(members.c.removed).where(
            members.c.membership_id == data["membership_id"])).first()
        values = {k: data[k] for k in ("grid_code", "person_id", "name", "phone", "role", "leads")}
        if held is None:
            session.execute(insert(members).values(membership_id=data["membership_id"], removed=removed, **values))
        elif not held.removed:
            # An assignment may repeat with new details (a new phone); a removal ends it for good.
            session.execute(update(members).where(members.c.membership_id == data["membership_id"])
                            .values(removed=removed, **values))

    def handlers(self) -> dict:
        def on_grid(session, envelope, data):
            self.apply_grid(session, data)

        def on_assigned(session, envelope, data):
            self.apply_member(session, data, removed=False)

        def on_removed(session, envelope, data):
            self.apply_member(session, data, removed=True)
        return {GRID_CREATED: on_grid, GRID_UPDATED: on_grid, GRID_RETIRED: on_grid,
                MEMBER_ASSIGNED: on_assigned, MEMBER_REMOVED: on_removed}

    # -- reading -------------------------------------------------------------------
    def is_empty(self, session: Session) -> bool:
        return session.execute(select(func.count()).select_from(self.t.grids)).scalar_one() == 0

    def chain(self, session: Session, code: str) -> list[dict]:
        """The grid and its ancestors, level 1 first."""
        rows = []
        while code:
            row = session.execute(self._grid, {"code": code}).first()
            if row is None:
                break
            rows.append({"code": row.code, "name": row.name, "level": row.level, "status": row.status})
            code = row.parent_code
        return list(reversed(rows))

    def people(self, session: Session, code: str, leaders_only: bool = False) -> list[dict]:
        rows = session.execute(self._leaders if leaders_only else self._people, {"code": code}).all()
        return [{"person_id": r.person_id, "name": r.name, "phone": r.phone, "role": r.role} for r in rows]

    def leaders(self, session: Session, code: str) -> list[dict]:
        return self.people(session, code, leaders_only=True)

    # -- filling an empty copy -------------------------------------------------------------
    def bootstrap(self, settings, db) -> None:
        """A worker timer: when the copy is empty, page through the registry's snapshot once.

        Events consumed meanwhile are harmless (versions); while the registry is
        unreachable the timer simply tries again on its next run.
        """
        with db.transaction() as session:
            if not self.is_empty(session):
                return
        after, grids, members = "", 0, 0
        try:
            while after is not None:
                page = get_json(settings, service_url("grid-registry", 8001), "/api/v1/registry/snapshot",
                                {"after": after, "limit": 500}, timeout=10)
                with db.transaction() as session:
                    for item in page["items"]:
                        self.apply_grid(session, item)
                        grids += 1
                        for member in item["members"]:
                            self.apply_member(session, member | {"grid_code": item["code"]}, removed=False)
                            members += 1
                after = page["next_after"]
        except OSError as exc:
            log.warning("registry snapshot unavailable; will retry", extra={"reason": str(exc)[:200]})
            return
        log.info("grid read model filled from the registry snapshot", extra={"grids": grids, "members": members})
