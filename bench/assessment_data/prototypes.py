"""Sketches of possible assessment changes, written here to measure them (bench helper).

Nothing here is used by the service; assessment_bench.py swaps them in, in its own process
only, and checks that they build the same rows as the service's code.

- `HANDLERS`: counters.py's handlers with fewer round trips per event: grid_metrics bumped by
  one INSERT .. ON CONFLICT DO UPDATE (instead of SELECT, then SAVEPOINT + INSERT + RELEASE
  for a new row, then UPDATE); case_view by one INSERT .. ON CONFLICT DO UPDATE (instead of
  UPDATE + SELECT (+ INSERT)); patrol_days by INSERT .. ON CONFLICT DO NOTHING RETURNING
  (instead of SAVEPOINT + INSERT + RELEASE, and an IntegrityError on a second patrol of a
  day); the closed months read once per transaction (the kit's batch) instead of per bump.
- `pay_subsidies`: assess._pay_subsidies with the paid people of every grid read in one query
  (instead of one SELECT per level-4 grid and per level-5 point: 5,310 for the demo district),
  one multi-row INSERT of subsidies and one OUTBOX.add_many (one NOTIFY) for all the lists.
- `memoised_workdays()`: periods.statutory_workday behind an lru_cache (chinese_calendar
  validates every date against its whole table: ~30 us a call, 59,000 calls for a year).
"""
from __future__ import annotations

import functools
from collections import defaultdict
from contextlib import contextmanager

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from servicekit.tables import utcnow


# -- consumer ---------------------------------------------------------------------------------------
def _closed(session: Session) -> set[str]:
    from assessment.models import closed_periods
    cached = session.info.get("bench_closed")
    if cached is None:
        cached = session.info["bench_closed"] = set(session.execute(select(closed_periods.c.period)).scalars())
    return cached


def _month(session: Session, at, envelope, grid_code) -> str:
    from assessment import periods
    from assessment.models import adjustments
    month = periods.period_of(at, "month").key
    if month not in _closed(session):
        return month
    current = periods.period_of(utcnow(), "month").key
    session.execute(insert(adjustments).values(event_id=envelope.id, event_type=envelope.type, grid_code=grid_code,
                                               belongs_to=month, counted_in=current, at=utcnow()))
    return current


def bump(session: Session, grid_code: str, month: str, **increments: int) -> None:
    from assessment.models import COUNTERS, metrics
    stmt = pg_insert(metrics).values(grid_code=grid_code, month=month, updated_at=utcnow(),
                                     **{name: increments.get(name, 0) for name in COUNTERS})
    session.execute(stmt.on_conflict_do_update(
        index_elements=[metrics.c.grid_code, metrics.c.month],
        set_={"updated_at": stmt.excluded.updated_at,
              **{name: metrics.c[name] + stmt.excluded[name] for name in increments}}))


def on_case_event(session: Session, envelope, data: dict) -> None:
    from assessment.counters import FOUND_BY
    from assessment.models import case_view
    grid, at, kind = data.get("grid_code"), data["at"], envelope.type
    stmt = pg_insert(case_view).values(case_id=data["case_id"], grid_code=grid, state=data["state"],
                                       due_at=data.get("due_at"), updated_at=utcnow())
    session.execute(stmt.on_conflict_do_update(index_elements=[case_view.c.case_id], set_={
        "grid_code": stmt.excluded.grid_code, "state": stmt.excluded.state, "due_at": stmt.excluded.due_at,
        "updated_at": stmt.excluded.updated_at}))
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
    elif kind in ("case.closed", "case.reopened", "case.extended", "case.sla_breached"):
        counter = {"case.closed": "closed", "case.reopened": "reopened", "case.extended": "extended",
                   "case.sla_breached": "sla_breaches"}[kind]
        bump(session, grid, _month(session, at, envelope, grid), **{counter: 1})


def on_patrol(session: Session, envelope, data: dict) -> None:
    from assessment import periods
    from assessment.models import patrol_days
    day = data["started_at"].astimezone(periods.SHANGHAI).date()
    first = session.execute(pg_insert(patrol_days).values(grid_code=data["grid_code"], day=day)
                            .on_conflict_do_nothing().returning(patrol_days.c.day)).first()
    if first is None:
        return
    bump(session, data["grid_code"], _month(session, data["started_at"], envelope, data["grid_code"]), patrol_days=1)


def handlers() -> dict:
    from assessment.handlers import HANDLERS
    from envgrid_contracts.incident import PATROL_RECORDED
    out = dict(HANDLERS)
    for event_type, handler in HANDLERS.items():
        if handler.__name__ == "on_case_event":
            out[event_type] = on_case_event
    out[PATROL_RECORDED] = on_patrol
    return out


# -- closing a month -------------------------------------------------------------------------------
def pay_subsidies(session: Session, period, set_id: int, rule_set) -> int:
    from envgrid_contracts.assessment import SUBSIDIES_PUBLISHED
    from assessment import scoring
    from assessment.assess import PAID_ROLES
    from assessment.models import grid_members, grid_view, results, subsidies
    from assessment.publishing import OUTBOX
    level4 = session.execute(select(results.c.grid_code, results.c.grade).where(
        results.c.result_set == set_id, results.c.level == 4)).all()
    points = defaultdict(list)
    for code, parent in session.execute(select(grid_view.c.code, grid_view.c.parent_code).where(
            grid_view.c.level == 5, grid_view.c.status == "active")).all():
        points[parent].append(code)
    people = defaultdict(list)
    for person in session.execute(select(grid_members).where(
            grid_members.c.removed.is_(False), grid_members.c.role.in_(PAID_ROLES))).all():
        people[person.grid_code].append(person)
    rows, events = [], []
    for grid_code, grade in level4:
        payees, seen = [], set()
        amount = scoring.subsidy_fen(grade, rule_set)
        for code in [grid_code, *points.get(grid_code, ())]:
            for person in people.get(code, ()):
                if person.person_id in seen:
                    continue
                seen.add(person.person_id)
                payees.append({"person_id": person.person_id, "name": person.name, "role": person.role,
                               "amount_fen": amount})
        if not payees:
            continue
        rows += [{"period": period.key, "grid_code": grid_code, "grade": grade, "result_set": set_id, **p}
                 for p in payees]
        events.append((SUBSIDIES_PUBLISHED, {
            "period": period.key, "grid_code": grid_code, "grade": grade, "rule_version": rule_set.version,
            "payees": payees, "total_fen": sum(p["amount_fen"] for p in payees)}))
    if rows:
        session.execute(insert(subsidies), rows)
        OUTBOX.add_many(session, events)
    return len(events)


@contextmanager
def batched_subsidies():
    from assessment import assess
    original = assess._pay_subsidies
    assess._pay_subsidies = pay_subsidies
    try:
        yield
    finally:
        assess._pay_subsidies = original


@contextmanager
def memoised_workdays():
    from assessment import periods
    original = periods.statutory_workday
    periods.statutory_workday = functools.lru_cache(maxsize=None)(original)
    try:
        yield
    finally:
        periods.statutory_workday = original
