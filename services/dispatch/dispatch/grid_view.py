"""Dispatch's read model of the grid tree: kept from grid.* and member.* events.

Each grid carries a version that only grows; an event older than the row held
(a redelivery, or an event overtaken by the snapshot) changes nothing.
"""
from __future__ import annotations

import logging

from envgrid_contracts.grid import (GRID_CREATED, GRID_RETIRED, GRID_UPDATED, MEMBER_ASSIGNED,
                                    MEMBER_REMOVED)
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from .models import grid_members, grid_view

log = logging.getLogger(__name__)

GRID_FIELDS = ("name", "level", "parent_code", "kind", "status", "version")


def apply_grid(session: Session, data: dict) -> bool:
    """Upsert a grid's state if it is newer than what is held. Returns whether it changed anything."""
    held = session.execute(select(grid_view.c.version).where(grid_view.c.code == data["code"])).first()
    values = {k: data[k] for k in GRID_FIELDS}
    if held is None:
        session.execute(insert(grid_view).values(code=data["code"], **values))
        return True
    if data["version"] <= held.version:
        return False
    session.execute(update(grid_view).where(grid_view.c.code == data["code"]).values(**values))
    return True


def apply_member(session: Session, data: dict, removed: bool) -> None:
    held = session.execute(select(grid_members.c.removed).where(
        grid_members.c.membership_id == data["membership_id"])).first()
    values = {k: data[k] for k in ("grid_code", "person_id", "name", "phone", "role", "leads")}
    if held is None:
        session.execute(insert(grid_members).values(membership_id=data["membership_id"], removed=removed, **values))
    elif not held.removed:
        # An assignment may repeat with new details (the person's phone changed); a removal ends it for good.
        session.execute(update(grid_members).where(grid_members.c.membership_id == data["membership_id"])
                        .values(removed=removed, **values))


def on_grid_event(session: Session, envelope, data: dict) -> None:
    apply_grid(session, data)


def on_member_assigned(session: Session, envelope, data: dict) -> None:
    apply_member(session, data, removed=False)


def on_member_removed(session: Session, envelope, data: dict) -> None:
    apply_member(session, data, removed=True)


HANDLERS = {GRID_CREATED: on_grid_event, GRID_UPDATED: on_grid_event, GRID_RETIRED: on_grid_event,
            MEMBER_ASSIGNED: on_member_assigned, MEMBER_REMOVED: on_member_removed}


def is_empty(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(grid_view)).scalar_one() == 0


def chain(session: Session, code: str) -> list[dict]:
    """The grid and its ancestors, level 1 first, from the read model."""
    rows = []
    while code:
        row = session.execute(select(grid_view).where(grid_view.c.code == code)).first()
        if row is None:
            break
        rows.append({"code": row.code, "name": row.name, "level": row.level, "status": row.status})
        code = row.parent_code
    return list(reversed(rows))


def leaders(session: Session, code: str) -> list[dict]:
    rows = session.execute(select(grid_members).where(
        grid_members.c.grid_code == code, grid_members.c.removed.is_(False), grid_members.c.leads.is_(True))
        .order_by(grid_members.c.membership_id)).all()
    return [{"person_id": r.person_id, "name": r.name, "phone": r.phone, "role": r.role} for r in rows]
