"""Per-grid, per-month counters kept from dispatch's case events and intake's patrols.

Which grid is credited: the grid that received the case (assigned or escalated
to it), the grid that handled, escalated (the one it left), reopened, or had it
extended. A report is "found by" its channel at the grid first responsible. The
month is the event's time in Asia/Shanghai; for a month already closed, the
event counts in the current month and an adjustment row says so.
"""
from __future__ import annotations

from datetime import datetime

from envgrid_contracts.case import CASE_EVENTS, SLA_EVENTS
from envgrid_contracts.incident import PATROL_RECORDED
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicekit.tables import utcnow

from . import periods
from .models import COUNTERS, adjustments, case_view, closed_periods, metrics, patrol_days

FOUND_BY = {"public_web": "found_by_public", "public_hotline": "found_by_public",
            "public_mailbox": "found_by_public", "city_platform": "found_by_city", "patrol": "found_by_patrol"}


def _month(session: Session, at: datetime, envelope, grid_code: str | None) -> str:
    month = periods.period_of(at, "month").key
    if session.execute(select(closed_periods.c.period).where(closed_periods.c.period == month)).first() is None:
        return month
    current = periods.period_of(utcnow(), "month").key
    session.execute(insert(adjustments).values(event_id=envelope.id, event_type=envelope.type, grid_code=grid_code,
                                               belongs_to=month, counted_in=current, at=utcnow()))
    return current


def bump(session: Session, grid_code: str, month: str, **increments: int) -> None:
    """Add to a grid's counters for a month (creating the row at zero first)."""
    key = (metrics.c.grid_code == grid_code) & (metrics.c.month == month)
    if session.execute(select(metrics.c.grid_code).where(key)).first() is None:
        try:
            with session.begin_nested():
                session.execute(insert(metrics).values(grid_code=grid_code, month=month, updated_at=utcnow(),
                                                       **{name: 0 for name in COUNTERS}))
        except IntegrityError:
            pass  # a concurrent consumer created it first
    session.execute(update(metrics).where(key).values(
        updated_at=utcnow(), **{name: metrics.c[name] + value for name, value in increments.items()}))


def on_case_event(session: Session, envelope, data: dict) -> None:
    action, grid = data.get("action"), data.get("grid_code")
    at = data["at"]
    session.execute(update(case_view).where(case_view.c.case_id == data["case_id"]).values(
        grid_code=grid, state=data["state"], due_at=data.get("due_at"), updated_at=utcnow()))
    if session.execute(select(case_view.c.case_id).where(case_view.c.case_id == data["case_id"])).first() is None:
        session.execute(insert(case_view).values(case_id=data["case_id"], grid_code=grid, state=data["state"],
                                                 due_at=data.get("due_at"), updated_at=utcnow()))
    kind = envelope.type
    if kind == "case.assigned" and grid:
        extra = {FOUND_BY[data["channel"]]: 1} if data.get("channel") in FOUND_BY else {}
        bump(session, grid, _month(session, at, envelope, grid), received=1, **extra)
    elif kind == "case.escalated" and grid:
        bump(session, grid, _month(session, at, envelope, grid), received=1)
        if data.get("previous_grid"):
            bump(session, data["previous_grid"], _month(session, at, envelope, data["previous_grid"]), escalated=1)
    elif kind == "case.handled" and grid:
        bump(session, grid, _month(session, at, envelope, grid), handled=1,
             handled_on_time=1 if data.get("on_time") else 0)
    elif kind == "case.closed" and grid:
        bump(session, grid, _month(session, at, envelope, grid), closed=1)
    elif kind == "case.reopened" and grid:
        bump(session, grid, _month(session, at, envelope, grid), reopened=1)
    elif kind == "case.extended" and grid:
        bump(session, grid, _month(session, at, envelope, grid), extended=1)
    elif kind == "case.sla_breached" and grid:
        bump(session, grid, _month(session, at, envelope, grid), sla_breaches=1)


def on_patrol(session: Session, envelope, data: dict) -> None:
    """A day counts once however many patrols it saw (coverage = days with a patrol / days)."""
    day = data["started_at"].astimezone(periods.SHANGHAI).date()
    try:
        with session.begin_nested():
            session.execute(insert(patrol_days).values(grid_code=data["grid_code"], day=day))
    except IntegrityError:
        return
    bump(session, data["grid_code"], _month(session, data["started_at"], envelope, data["grid_code"]), patrol_days=1)


HANDLERS = {**{t: on_case_event for t in CASE_EVENTS}, **{t: on_case_event for t in SLA_EVENTS},
            PATROL_RECORDED: on_patrol}
