"""Use cases of assessment: score a period, close a month, pay subsidies, raise flags.

Scores are kept as result sets: computing a period again (a new rule version, or a
quarter after its months closed) makes a new set and never rewrites an old one.
Levels 2, 3 and 4 are scored; a level-5 point's responsible person is paid by the
grade of the level-4 grid it belongs to. Money is integer fen throughout.
"""
from __future__ import annotations

import json
from collections import defaultdict

from envgrid_contracts.assessment import ASSESSMENT_PUBLISHED, FLAG_RAISED, SUBSIDIES_PUBLISHED
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from servicekit.errors import ApiError
from servicekit.identity import Identity
from servicekit.tables import utcnow

from . import periods, scoring
from .models import (COUNTERS, case_view, closed_periods, flags, grid_members, grid_view, inspections, meetings,
                     metrics, result_sets, results, rule_sets, subsidies)
from .publishing import OUTBOX

SCORED_LEVELS = (2, 3, 4)
OPEN_STATES = ("new", "assigned", "accepted", "referred", "handled", "verified")
PAID_ROLES = ("leader", "grid_member", "unit_leader")


# -- rules -----------------------------------------------------------------------------
def seed_rules(session: Session) -> None:
    """Version 1 of the rules, once (run by `migrate`)."""
    if session.execute(select(rule_sets.c.version).where(rule_sets.c.version == 1)).first() is None:
        session.execute(insert(rule_sets).values(version=1, rules=scoring.DEFAULT_RULES.to_dict(),
                                                 note="默认考核办法 v1", created_at=utcnow(), created_by="seed"))


def rules(session: Session, version: int | None = None) -> scoring.RuleSet:
    query = select(rule_sets)
    query = query.where(rule_sets.c.version == version) if version else query.order_by(rule_sets.c.version.desc())
    row = session.execute(query.limit(1)).first()
    if row is None:
        raise ApiError(422, f"unknown rule version {version}", fields={"rule_version": ["no such version"]})
    return scoring.RuleSet.from_dict(row.rules)


def add_rules(session: Session, data: dict, note: str, who: Identity) -> dict:
    try:
        rule_set = scoring.RuleSet.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(422, f"the rules do not hold together: {exc}", fields={"rules": [str(exc)]}) from None
    if session.execute(select(rule_sets.c.version).where(rule_sets.c.version == rule_set.version)).first():
        raise ApiError(409, f"rule version {rule_set.version} exists; versions are never changed, add a new one")
    session.execute(insert(rule_sets).values(version=rule_set.version, rules=rule_set.to_dict(), note=note,
                                             created_at=utcnow(), created_by=who.subject))
    return {"version": rule_set.version, "note": note}


# -- counters of a period ----------------------------------------------------------------
def _grids(session: Session) -> dict[str, object]:
    rows = session.execute(select(grid_view).where(grid_view.c.status == "active",
                                                   grid_view.c.level.in_(SCORED_LEVELS))).all()
    return {r.code: r for r in rows}


def period_counters(session: Session, period: periods.Period, grids: dict) -> dict[str, dict]:
    """Every scored grid's counters for `period`: its months summed, plus compliance and overdue cases."""
    months = [m.key for m in periods.months_of(period)]
    summed = session.execute(select(metrics.c.grid_code, *[func.sum(metrics.c[n]).label(n) for n in COUNTERS])
                             .where(metrics.c.month.in_(months)).group_by(metrics.c.grid_code)).all()
    totals = {r.grid_code: {n: int(getattr(r, n) or 0) for n in COUNTERS} for r in summed}
    overdue = dict(session.execute(select(case_view.c.grid_code, func.count()).where(
        case_view.c.state.in_(OPEN_STATES), case_view.c.due_at < min(period.end, utcnow()))
        .group_by(case_view.c.grid_code)).all())
    start, end = scoring.meeting_window(period)
    held = defaultdict(list)
    for grid_code, kind, at in session.execute(select(meetings.c.grid_code, meetings.c.kind, meetings.c.held_at)
                                               .where(meetings.c.held_at >= periods.period_of_day(start, "month").start,
                                                      meetings.c.held_at < period.end)).all():
        day = at.astimezone(periods.SHANGHAI).date()
        if start <= day <= end:
            held[grid_code].append((kind, day))
    done = defaultdict(list)
    for inspecting, inspected, at in session.execute(select(
            inspections.c.inspecting_grid, inspections.c.inspected_grid, inspections.c.held_at).where(
            inspections.c.held_at >= period.start, inspections.c.held_at < period.end)).all():
        done[inspecting].append((inspected, at.astimezone(periods.SHANGHAI).date()))
    children = defaultdict(list)
    for code, grid in grids.items():
        if grid.parent_code:
            children[grid.parent_code].append(code)
    days = periods.days(period)
    workday = periods.workday_calendar(start, end)  # the statutory calendar once, not per grid and day
    out = {}
    for code, grid in grids.items():
        counters = dict(totals.get(code) or {n: 0 for n in COUNTERS})
        counters["overdue_open"] = int(overdue.get(code, 0))
        counters["days_in_period"] = days
        if grid.level != 4:
            counters["patrol_days"] = days  # patrol coverage is the level-4 grids' duty
        counters.update(scoring.compliance(grid.level, period, held.get(code, []), done.get(code, []),
                                           lower_grids=children.get(code, ()), is_workday=workday))
        out[code] = counters
    return out


# -- scoring ------------------------------------------------------------------------------
def compute(session: Session, period: periods.Period, rule_version: int | None, actor: str) -> int:
    """Score every scored grid for `period`; returns the new result set's id."""
    if not periods.ended(period, utcnow()):
        raise ApiError(422, f"{period.key} has not ended yet (Asia/Shanghai)", fields={"period": ["not ended"]})
    rule_set = rules(session, rule_version)
    grids = _grids(session)
    counters = period_counters(session, period, grids)
    scored = {code: scoring.score(counters[code], grids[code].level, rule_set) for code in grids}
    siblings = defaultdict(list)
    for code, grid in grids.items():
        siblings[(grid.parent_code, grid.level)].append(code)
    ranks = {}
    for group in siblings.values():
        ranks.update(scoring.rank({code: scored[code].score for code in group}))
    set_id = session.execute(insert(result_sets).values(period=period.key, rule_version=rule_set.version,
                                                        created_at=utcnow(), created_by=actor)
                             ).inserted_primary_key[0]
    rows = []
    for code, result in scored.items():
        group = siblings[(grids[code].parent_code, grids[code].level)]
        rows.append({"result_set": set_id, "grid_code": code, "level": grids[code].level, "score": result.score,
                     "grade": result.grade, "rank": ranks[code], "siblings": len(group),
                     "explanation": _jsonable(result.as_dict()), "counters": counters[code]})
    if rows:
        session.execute(insert(results), rows)
    grades = defaultdict(int)
    for result in scored.values():
        grades[result.grade] += 1
    OUTBOX.add(session, ASSESSMENT_PUBLISHED, {"period": period.key, "result_set": set_id,
                                               "rule_version": rule_set.version, "grids": len(rows),
                                               "grades": dict(grades)})
    return set_id


def _jsonable(value):
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def close_month(session: Session, key: str, who: Identity) -> dict:
    """The district closes a month: scores, subsidies once, accountability flags."""
    period = _parse(key)
    if period.kind != "month":
        raise ApiError(422, "months are closed; quarters and years are scored from them", fields={"period": [key]})
    if not periods.ended(period, utcnow()):
        raise ApiError(422, f"{key} has not ended yet (Asia/Shanghai)", fields={"period": ["not ended"]})
    if session.execute(select(closed_periods.c.period).where(closed_periods.c.period == key)).first():
        raise ApiError(409, f"{key} is already closed; late events count in the current month")
    session.execute(insert(closed_periods).values(period=key, closed_at=utcnow(), closed_by=who.subject))
    set_id = compute(session, period, None, who.subject)
    rule_set = rules(session)
    paid = _pay_subsidies(session, period, set_id, rule_set)
    raised = _raise_flags(session, period, set_id, rule_set)
    return {"period": key, "result_set": set_id, "subsidy_lists": paid, "flags": raised}


def _pay_subsidies(session: Session, period: periods.Period, set_id: int, rule_set: scoring.RuleSet) -> int:
    """One list per level-4 grid: its own paid people and those of its level-5 points, each person once,
    paid by the grid's grade. Read in three queries and written in two statements, however many grids."""
    level4 = session.execute(select(results.c.grid_code, results.c.grade).where(
        results.c.result_set == set_id, results.c.level == 4)).all()
    points = defaultdict(list)
    for code, parent in session.execute(select(grid_view.c.code, grid_view.c.parent_code).where(
            grid_view.c.level == 5, grid_view.c.status == "active")).all():
        points[parent].append(code)
    people = defaultdict(list)
    for person in session.execute(select(grid_members).where(
            grid_members.c.removed.is_(False), grid_members.c.role.in_(PAID_ROLES))
            .order_by(grid_members.c.membership_id)).all():
        people[person.grid_code].append(person)
    rows, events = [], []
    for grid_code, grade in level4:
        amount = scoring.subsidy_fen(grade, rule_set)
        payees, seen = [], set()
        for code in [grid_code, *points.get(grid_code, ())]:
            for person in people.get(code, ()):
                if person.person_id in seen:
                    continue  # one subsidy a person, however many roles they hold in this grid
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


def _raise_flags(session: Session, period: periods.Period, set_id: int, rule_set: scoring.RuleSet) -> int:
    previous = periods.previous(period).key
    last_set = session.execute(select(func.max(result_sets.c.id)).where(result_sets.c.period == previous)).scalar()
    before = {}
    if last_set:
        before = {r.grid_code: r for r in session.execute(select(results).where(results.c.result_set == last_set)).all()}
    rows, events = [], []
    for row in session.execute(select(results).where(results.c.result_set == set_id)).all():
        history = ([{"grade": before[row.grid_code].grade, "score": before[row.grid_code].score}]
                   if row.grid_code in before else []) + [{"grade": row.grade, "score": row.score}]
        for flag in scoring.flags(history, row.counters, rule_set):
            # A grade streak's evidence is the list of results behind it; a counter rule's is a mapping.
            found = _jsonable(flag["evidence"])
            evidence = (found if isinstance(found, dict) else {"results": found}) | {"result_set": set_id}
            rows.append({"period": period.key, "grid_code": row.grid_code, "flag": flag["name"],
                         "reason": flag["reason"][:300], "evidence": evidence, "raised_at": utcnow()})
            events.append((FLAG_RAISED, {"period": period.key, "grid_code": row.grid_code, "flag": flag["name"],
                                         "reason": flag["reason"], "evidence": evidence}))
    if rows:
        session.execute(insert(flags), rows)
    OUTBOX.add_many(session, events)
    return len(events)


def rescore(session: Session, key: str, rule_version: int | None, who: Identity) -> dict:
    period = _parse(key)
    set_id = compute(session, period, rule_version, who.subject)
    return {"period": key, "result_set": set_id}


def _parse(key: str) -> periods.Period:
    try:
        return periods.parse(key)
    except ValueError as exc:
        raise ApiError(422, str(exc), fields={"period": ["like 2026-11, 2026-Q4 or 2026"]}) from None


# -- reading ---------------------------------------------------------------------------
def _result_set(session: Session, key: str, set_id: int | None) -> int:
    if set_id is None:
        set_id = session.execute(select(func.max(result_sets.c.id)).where(result_sets.c.period == key)).scalar()
    if set_id is None:
        raise ApiError(404, f"no scores for {key} yet")
    return set_id


def scores(session: Session, key: str, set_id: int | None, parent: str | None, who: Identity) -> dict:
    set_id = _result_set(session, key, set_id)
    meta = session.execute(select(result_sets).where(result_sets.c.id == set_id)).one()
    query = (select(results, grid_view.c.name, grid_view.c.parent_code)
             .join(grid_view, grid_view.c.code == results.c.grid_code).where(results.c.result_set == set_id))
    if parent:
        query = query.where(grid_view.c.parent_code == parent)
    rows = [r for r in session.execute(query.order_by(results.c.level, grid_view.c.parent_code, results.c.rank,
                                                      results.c.grid_code)).all()
            if who.covers(r.grid_code) or (parent and who.covers(parent))]
    return {"period": key, "result_set": set_id, "rule_version": meta.rule_version, "items": [
        {"grid_code": r.grid_code, "name": r.name, "level": r.level, "parent_code": r.parent_code,
         "score": str(r.score), "grade": r.grade, "rank": r.rank, "of": r.siblings} for r in rows]}


def explanation(session: Session, key: str, grid_code: str, set_id: int | None, who: Identity) -> dict:
    if not who.covers(grid_code):
        raise ApiError(403, f"grid {grid_code} is outside your grids")
    set_id = _result_set(session, key, set_id)
    row = session.execute(select(results).where(results.c.result_set == set_id,
                                                results.c.grid_code == grid_code)).first()
    if row is None:
        raise ApiError(404, f"grid {grid_code} has no score in {key}")
    return {"period": key, "grid_code": grid_code, "score": str(row.score), "grade": row.grade, "rank": row.rank,
            "of": row.siblings, "counters": row.counters, "explanation": row.explanation}


SCORE_HEADERS = ["考核期", "网格编码", "网格名称", "层级", "得分", "等次", "同级排名", "同级数量", "规则版本"]
SUBSIDY_HEADERS = ["考核期", "网格编码", "人员编号", "姓名", "角色", "等次", "补贴金额(元)", "补贴金额(分)"]


def score_rows(session: Session, key: str, set_id: int | None, who: Identity):
    data = scores(session, key, set_id, None, who)
    for item in data["items"]:
        yield [key, item["grid_code"], item["name"], item["level"], item["score"], item["grade"], item["rank"],
               item["of"], data["rule_version"]]


def subsidy_rows(session: Session, key: str, who: Identity):
    rows = session.execute(select(subsidies).where(subsidies.c.period == key)
                           .order_by(subsidies.c.grid_code, subsidies.c.person_id)).all()
    for r in rows:
        if who.covers(r.grid_code) or who.has_any("rewards_office"):
            # Yuan shown from integer fen exactly (no float): 36000 fen -> "360.00".
            yield [r.period, r.grid_code, r.person_id, r.name, r.role, r.grade,
                   f"{r.amount_fen // 100}.{r.amount_fen % 100:02d}", r.amount_fen]


def flag_list(session: Session, key: str | None, who: Identity) -> list[dict]:
    query = select(flags).order_by(flags.c.raised_at, flags.c.id)  # id: the order raised, should times tie
    if key:
        query = query.where(flags.c.period == key)
    return [{"period": r.period, "grid_code": r.grid_code, "flag": r.flag, "reason": r.reason, "evidence": r.evidence,
             "raised_at": r.raised_at.isoformat()} for r in session.execute(query).all() if who.covers(r.grid_code)]

