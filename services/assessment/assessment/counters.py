"""Per-grid, per-month counters kept from dispatch's case events and intake's patrols.

Which grid is credited: the grid that received the case (assigned or escalated
to it), the grid that handled, escalated (the one it left), reopened, or had it
extended. A report is "found by" its channel at the grid first responsible. The
month is the event's time in Asia/Shanghai; for a month already closed, the
event counts in the current month and an adjustment row says so.
"""
from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import NamedTuple

from envgrid_contracts.case import CASE_EVENTS, SLA_EVENTS
from envgrid_contracts.incident import PATROL_RECORDED
from sqlalchemy import Insert, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from servicekit.tables import utcnow

from . import periods
from .models import COUNTERS, adjustments, case_view, closed_periods, metrics, patrol_days

FOUND_BY = {"public_web": "found_by_public", "public_hotline": "found_by_public",
            "public_mailbox": "found_by_public", "city_platform": "found_by_city", "patrol": "found_by_patrol"}
COUNTER_OF = {"case.closed": "closed", "case.reopened": "reopened", "case.extended": "extended",
           "case.sla_breached": "sla_breaches"}
_KNOWN = frozenset(COUNTERS)
_CLOSED = "assessment.closed_months"  # session.info key: (transaction, months closed when it first looked)


class _Statements(NamedTuple):
    bump: Insert        # a grid's month: INSERT, or add to the counters already there
    case: Insert        # a case as last heard of: INSERT, or overwrite
    patrol_day: Insert  # a grid's day with a patrol: INSERT .. RETURNING, or nothing if it is there


@cache
def _built(dialect: str) -> _Statements:
    """The handlers' statements, built once per dialect (PostgreSQL and SQLite both have ON CONFLICT);
    values come as parameters. Building a statement costs more CPU than executing it."""
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    bump = insert_(metrics)
    bump = bump.on_conflict_do_update(index_elements=[metrics.c.grid_code, metrics.c.month], set_={
        "updated_at": bump.excluded.updated_at, **{name: metrics.c[name] + bump.excluded[name] for name in COUNTERS}})
    case = insert_(case_view)
    case = case.on_conflict_do_update(index_elements=[case_view.c.case_id], set_={
        name: case.excluded[name] for name in ("grid_code", "state", "due_at", "updated_at")})
    patrol_day = (insert_(patrol_days).on_conflict_do_nothing(index_elements=[patrol_days.c.grid_code,
                                                                               patrol_days.c.day])
                  .returning(patrol_days.c.day))
    return _Statements(bump, case, patrol_day)


def _statements(session: Session) -> _Statements:
    return _built(session.get_bind().dialect.name)


def _closed_months(session: Session) -> set[str]:
    """The closed months, read once per transaction (the consumer applies a batch of events in one).

    A month closed by another transaction while this one runs is seen by the next batch, as
    it would be by an event arriving a moment later; closing is the web process's own use case.
    """
    transaction = session.get_transaction()
    cached = session.info.get(_CLOSED)
    if cached is None or cached[0] is not transaction:
        cached = session.info[_CLOSED] = (transaction, set(session.execute(select(closed_periods.c.period)).scalars()))
    return cached[1]


def _month(session: Session, at: datetime, envelope, grid_code: str | None) -> str:
    month = periods.period_of(at, "month").key
    if month not in _closed_months(session):
        return month
    current = periods.period_of(utcnow(), "month").key
    session.execute(insert(adjustments).values(event_id=envelope.id, event_type=envelope.type, grid_code=grid_code,
                                               belongs_to=month, counted_in=current, at=utcnow()))
    return current


def bump(session: Session, grid_code: str, month: str, **increments: int) -> None:
    """Add to a grid's counters for a month, creating the row on its first event: one statement,
    INSERT .. ON CONFLICT DO UPDATE (a concurrent consumer creating the row first is no error)."""
    if not increments.keys() <= _KNOWN:
        raise ValueError(f"no such counters: {sorted(increments.keys() - _KNOWN)}")
    session.execute(_statements(session).bump, {"grid_code": grid_code, "month": month, "updated_at": utcnow(),
                                             **{name: increments.get(name, 0) for name in COUNTERS}})


def on_case_event(session: Session, envelope, data: dict) -> None:
    grid, at, kind = data.get("grid_code"), data["at"], envelope.type
    session.execute(_statements(session).case, {"case_id": data["case_id"], "grid_code": grid, "state": data["state"],
                                             "due_at": data.get("due_at"), "updated_at": utcnow()})
    if not grid:
        return
    if kind == "case.assigned":
        extra = {FOUND_BY[data["channel"]]: 1} if data.get("channel") in FOUND_BY else {}
        bump(session, grid, _month(session, at, envelope, grid), received=1, **extra)
    elif kind == "case.escalated":
        bump(session, grid, _month(session, at, envelope, grid), received=1)
        if data.get("previous_grid"):
            bump(session, data["previous_grid"], _month(session, at, envelope, data["previous_grid"]), escalated=1)
    elif kind == "case.handled":
        bump(session, grid, _month(session, at, envelope, grid), handled=1,
             handled_on_time=1 if data.get("on_time") else 0)
    elif kind in COUNTER_OF:
        bump(session, grid, _month(session, at, envelope, grid), **{COUNTER_OF[kind]: 1})


def on_patrol(session: Session, envelope, data: dict) -> None:
    """A day counts once however many patrols it saw (coverage = days with a patrol / days)."""
    day = data["started_at"].astimezone(periods.SHANGHAI).date()
    first = session.execute(_statements(session).patrol_day, {"grid_code": data["grid_code"], "day": day}).first()
    if first is None:
        return  # the grid's day already had a patrol
    bump(session, data["grid_code"], _month(session, data["started_at"], envelope, data["grid_code"]), patrol_days=1)


HANDLERS = {**{t: on_case_event for t in CASE_EVENTS}, **{t: on_case_event for t in SLA_EVENTS},
            PATROL_RECORDED: on_patrol}
