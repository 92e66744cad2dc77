"""Meetings and supervision inspections on record (议事会商, 督查): the assessment's own facts.

The plan's frequencies make them compliance rules (periods.py and scoring.py
count them): level 1 a joint meeting a month, level 2 a topic meeting a week and
a daily briefing, level 3 a daily briefing; level-1 and level-2 leaders inspect
each lower grid at least three times a quarter.
"""
from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from servicekit.errors import ApiError
from servicekit.identity import Identity
from servicekit.tables import utcnow

from .models import grid_view, inspections, meetings

MEETING_KINDS = {1: {"joint"}, 2: {"topic", "briefing", "joint"}, 3: {"briefing", "topic"}}


def _grid(session: Session, code: str):
    row = session.execute(select(grid_view).where(grid_view.c.code == code)).first()
    if row is None or row.status != "active":
        raise ApiError(422, f"unknown grid {code}", fields={"grid_code": ["not an active grid"]})
    return row


def record_meeting(session: Session, data: dict, who: Identity) -> dict:
    grid = _grid(session, data["grid_code"])
    if not who.covers(grid.code):
        raise ApiError(403, f"grid {grid.code} is outside your grids")
    if data["kind"] not in MEETING_KINDS.get(grid.level, set()):
        raise ApiError(422, f"a level-{grid.level} grid does not hold {data['kind']} meetings",
                       fields={"kind": [f"one of {sorted(MEETING_KINDS.get(grid.level, set()))}"]})
    meeting_id = session.execute(insert(meetings).values(
        grid_code=grid.code, kind=data["kind"], held_at=data["held_at"], attendees=data["attendees"],
        minutes=data["minutes"], evidence=data["evidence"], recorded_by=who.subject, created_at=utcnow())
    ).inserted_primary_key[0]
    return {"meeting_id": meeting_id, "grid_code": grid.code, "kind": data["kind"],
            "held_at": data["held_at"].isoformat()}


def record_inspection(session: Session, data: dict, who: Identity) -> dict:
    inspecting = _grid(session, data["inspecting_grid"])
    inspected = _grid(session, data["inspected_grid"])
    if inspecting.level not in (1, 2):
        raise ApiError(422, "supervision inspections are made by level-1 and level-2 grids",
                       fields={"inspecting_grid": [f"level {inspecting.level}"]})
    if not who.covers(inspecting.code):
        raise ApiError(403, f"you do not act for grid {inspecting.code}")
    if not inspected.code.startswith(inspecting.code) or inspected.code == inspecting.code:
        raise ApiError(403, f"grid {inspected.code} is not below {inspecting.code}")
    inspection_id = session.execute(insert(inspections).values(
        inspector=who.subject, inspecting_grid=inspecting.code, inspected_grid=inspected.code,
        held_at=data["held_at"], findings=data["findings"], evidence=data["evidence"], created_at=utcnow())
    ).inserted_primary_key[0]
    return {"inspection_id": inspection_id, "inspecting_grid": inspecting.code, "inspected_grid": inspected.code,
            "held_at": data["held_at"].isoformat()}


def list_meetings(session: Session, grid: str | None, start, end) -> list[dict]:
    query = select(meetings).where(meetings.c.held_at >= start, meetings.c.held_at < end).order_by(meetings.c.held_at)
    if grid:
        query = query.where(meetings.c.grid_code.startswith(grid, autoescape=True))
    return [{"meeting_id": r.id, "grid_code": r.grid_code, "kind": r.kind, "held_at": r.held_at.isoformat(),
             "attendees": r.attendees, "minutes": r.minutes, "evidence": r.evidence, "recorded_by": r.recorded_by}
            for r in session.execute(query).all()]


def list_inspections(session: Session, grid: str | None, start, end) -> list[dict]:
    query = (select(inspections).where(inspections.c.held_at >= start, inspections.c.held_at < end)
             .order_by(inspections.c.held_at))
    if grid:
        query = query.where(inspections.c.inspected_grid.startswith(grid, autoescape=True))
    return [{"inspection_id": r.id, "inspector": r.inspector, "inspecting_grid": r.inspecting_grid,
             "inspected_grid": r.inspected_grid, "held_at": r.held_at.isoformat(), "findings": r.findings,
             "evidence": r.evidence} for r in session.execute(query).all()]
