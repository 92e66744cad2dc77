"""Counters kept by upserts, and a month of many grids closed with its subsidy lists and flags written
in bulk: checked on SQLite, and on PostgreSQL too (marked integration: it needs DATABASE_URL).

The counters: a batch of events applied in one transaction (as the worker does) builds exactly the
rows the events describe one by one; a day with two patrols counts once, whether the second comes in
the same batch or a later one. Closing: every level-4 grid's list holds its own paid people and its
points' ones, each person once, in the order of their memberships; one subsidies_published event a
list and one flag_raised event a flag, as many as the rows written.
"""
import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.identity import Identity
from servicekit.migrate import upgrade
from servicekit.tables import outbox

G1, G2 = "140502001001001", "140502001001002"
VILLAGE = "140502001001"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store(request, tmp_path):
    """(settings, Database) of a migrated assessment database, on SQLite or PostgreSQL."""
    from assessment.bootstrap import SPEC
    env = {"ENVGRID_DATA_DIR": str(tmp_path)}
    if request.param == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("pg_url")
    settings = load_settings("assessment", env)
    upgrade(SPEC, settings)
    db = Database(settings.database_url)
    yield settings, db
    db.dispose()


def consumer_of(settings, db):
    from assessment.bootstrap import SPEC
    from servicekit.consumer import Consumer
    from servicekit.events import registry
    return Consumer(settings, db, registry, SPEC.handlers)


def apply_batch(consumer, envelopes):
    """Apply envelopes as the worker does, a batch in one transaction; every one must be processed."""
    outcomes = consumer.process_batch([(e.to_json().encode(), 1) for e in envelopes])
    assert [o.action for o, _ in outcomes] == ["processed"] * len(envelopes), [o.error for o, _ in outcomes]


def case(kind, case_id, grid, at, **extra):
    from servicekit.events import new_envelope
    data = {"case_id": case_id, "incident_ids": [f"R{case_id}"], "state": extra.pop("state", "assigned"),
            "grid_code": grid, "at": at.isoformat(), "channel": "public_web", "level": 4,
            "category": "catering_fumes", "due_at": (at + timedelta(days=1)).isoformat(),
            "action": kind.split(".")[1]} | extra
    return new_envelope(kind, data, "dispatch")


def patrol(grid, started, patrol_id):
    from servicekit.events import new_envelope
    return new_envelope("patrol.recorded", {
        "patrol_id": patrol_id, "grid_code": grid, "staff": "P1", "started_at": started.isoformat(),
        "ended_at": (started + timedelta(hours=1)).isoformat(), "distance_m": 800.0, "checkpoints": 5,
        "problems": []}, "incidents")


def counters_of(db):
    from assessment.models import COUNTERS, metrics
    with db.transaction() as session:
        return {(r.grid_code, r.month): {n: getattr(r, n) for n in COUNTERS if getattr(r, n)}
                for r in session.execute(select(metrics)).all()}


# ---------------------------------------------------------------------------- counters
def test_a_batch_of_events_counts_each_event_once_and_a_day_with_two_patrols_once(store):
    from assessment.models import case_view, closed_periods, patrol_days
    from assessment.periods import period_of
    settings, db = store
    with db.transaction() as session:
        session.execute(insert(closed_periods).values(period="2026-09", closed_at=datetime.now(timezone.utc),
                                                      closed_by="test"))
    consumer = consumer_of(settings, db)
    oct5 = datetime(2026, 10, 5, 1, 0, tzinfo=timezone.utc)            # 09:00 on 5 October in Shanghai
    apply_batch(consumer, [
        case("case.assigned", "C1", G1, oct5),
        case("case.handled", "C1", G1, oct5, state="handled", on_time=True),
        case("case.escalated", "C1", G2, oct5, state="assigned", previous_grid=G1),
        case("case.sla_breached", "C1", G2, oct5, timer="breach", breach_action="flag"),
        patrol(G1, oct5, "P1"),
        patrol(G1, oct5 + timedelta(hours=8), "P2"),                     # 17:00 the same Shanghai day
        patrol(G1, oct5 + timedelta(hours=16), "P3"),                    # 01:00 on 6 October in Shanghai
        case("case.assigned", "C0", G2, datetime(2026, 9, 20, 2, tzinfo=timezone.utc)),  # September is closed
        case("case.closed", "C9", None, oct5, state="closed"),           # no grid: the case only
    ])
    apply_batch(consumer, [patrol(G1, oct5 + timedelta(hours=4), "P4"),  # 5 October again, a later batch
                           case("case.closed", "C1", G2, oct5, state="closed")])

    now = period_of(datetime.now(timezone.utc), "month").key
    assert counters_of(db) == {
        (G1, "2026-10"): {"received": 1, "found_by_public": 1, "handled": 1, "handled_on_time": 1, "escalated": 1,
                          "patrol_days": 2},
        (G2, "2026-10"): {"received": 1, "sla_breaches": 1, "closed": 1},
        (G2, now): {"received": 1, "found_by_public": 1},  # late news for closed September counts now
    }
    with db.transaction() as session:
        days = sorted(str(d) for _, d in session.execute(select(patrol_days)).all())
        cases = {r.case_id: (r.grid_code, r.state) for r in session.execute(select(case_view)).all()}
    assert days == ["2026-10-05", "2026-10-06"]
    assert cases == {"C1": (G2, "closed"), "C0": (G2, "assigned"), "C9": (None, "closed")}


def test_a_counter_that_does_not_exist_is_refused(store):
    from assessment.counters import bump
    _, db = store
    with pytest.raises(ValueError, match="recieved"), db.transaction() as session:
        bump(session, G1, "2026-10", recieved=1)


# ---------------------------------------------------------------------------- closing many grids
PAID = ("leader", "grid_member", "unit_leader")


def district(grids: int):
    """A village with `grids` level-4 grids and their points; people in every case the lists must handle."""
    tree = [("140502", 1, None), ("140502001", 2, "140502"), (VILLAGE, 3, "140502001")]
    people = []  # (grid, person, role, removed), in membership order

    def hold(grid, person, role, removed=False):
        people.append((grid, person, role, removed))
    for i in range(1, grids + 1):
        grid = f"{VILLAGE}{i:03d}"
        tree.append((grid, 4, VILLAGE))
        points = [f"{grid}{j:04d}" for j in range(1, i % 3 + 1)]
        tree += [(point, 5, grid) for point in points]
        hold(VILLAGE, f"V{i}", "leader")                 # a village's people are not on a level-4 list
        if i % 5 == 0:
            hold(grid, f"X{i}", "liaison")               # nobody paid: no list at all
            continue
        hold(grid, f"L{i}", "leader")
        hold(grid, f"M{i}", "grid_member")
        if i % 2 == 0:
            hold(grid, f"L{i}", "grid_member")           # two roles, paid once (as leader, held first)
        hold(grid, f"R{i}", "grid_member", removed=True)
        for j, point in enumerate(points, 1):
            hold(point, f"U{i}-{j}", "unit_leader")
            if i % 4 == 1 and j == 1:
                hold(point, f"L{i}", "unit_leader")      # the grid's leader also runs a point: paid once
    return tree, people


def fill(db, tree, people):
    from assessment.models import grid_members, grid_view
    with db.transaction() as session:
        session.execute(insert(grid_view), [{"code": c, "name": f"网格{c[-4:]}", "level": lvl, "parent_code": p,
                                             "kind": "x", "status": "active", "version": 1} for c, lvl, p in tree])
        session.execute(insert(grid_members), [
            {"membership_id": n, "grid_code": g, "person_id": pid, "name": f"人员{pid}", "phone": "13900000000",
             "role": role, "leads": role in ("leader", "unit_leader"), "removed": removed}
            for n, (g, pid, role, removed) in enumerate(people, 1)])


def month_events(tree, month: int):
    """Level-4 grid i: i % 3 == 0 nothing; 1 a case handled on time (and patrols, see patrolled);
    2 a case left overdue with three SLA breaches (不合格 and the repeated_breaches flag)."""
    out = []
    level4 = [code for code, level, _ in tree if level == 4]
    for i, grid in enumerate(level4, 1):
        at = datetime(2026, month, 10, 2, tzinfo=timezone.utc)
        if i % 3 == 1:
            out.append(case("case.assigned", f"A{month}-{i}", grid, at))
            out.append(case("case.handled", f"A{month}-{i}", grid, at, state="handled", on_time=True))
        elif i % 3 == 2:
            out.append(case("case.assigned", f"B{month}-{i}", grid, at))
            out += [case("case.sla_breached", f"B{month}-{i}", grid, at, timer="breach", breach_action="flag")
                    for _ in range(3)]
    return out


def expected_lists(people, tree, grades, rules):
    """Each graded level-4 grid's payees, worked out from the data as set up (not from the database)."""
    from assessment import scoring
    points = defaultdict(list)
    for code, level, parent in tree:
        if level == 5:
            points[parent].append(code)
    out = {}
    for grid, grade in grades.items():
        payees, seen = [], set()
        for code in [grid, *points[grid]]:
            for g, pid, role, removed in people:
                if g == code and role in PAID and not removed and pid not in seen:
                    seen.add(pid)
                    payees.append({"person_id": pid, "name": f"人员{pid}", "role": role,
                                   "amount_fen": scoring.subsidy_fen(grade, rules)})
        if payees:
            out[grid] = (grade, payees)
    return out


def outbox_data(session, event_type):
    rows = session.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)
                           .order_by(outbox.c.id)).scalars()
    return [json.loads(payload)["data"] for payload in rows]


def test_closing_a_month_of_many_grids_writes_every_list_and_flag_with_one_event_each(store):
    from assessment import assess
    from assessment.counters import bump
    from assessment.models import flags, results, subsidies
    settings, db = store
    tree, people = district(40)
    fill(db, tree, people)
    consumer = consumer_of(settings, db)
    who = Identity("ops", frozenset({"district_ops"}))
    answers = {}
    for month in (9, 10):
        events = month_events(tree, month)
        for start in range(0, len(events), 32):
            apply_batch(consumer, events[start:start + 32])
        with db.transaction() as session:
            for i in range(1, 41, 3):  # patrols on 30 days (as thirty patrol.recorded events would count)
                bump(session, f"{VILLAGE}{i:03d}", f"2026-{month:02d}", patrol_days=30)
        with db.transaction() as session:
            answers[month] = assess.close_month(session, f"2026-{month:02d}", who)

    with db.transaction() as session:
        rules = assess.rules(session)
        grades = dict(session.execute(select(results.c.grid_code, results.c.grade).where(
            results.c.result_set == answers[10]["result_set"], results.c.level == 4)).all())
        written = defaultdict(list)
        for r in session.execute(select(subsidies).where(subsidies.c.period == "2026-10")
                                 .order_by(subsidies.c.id)).all():
            written[r.grid_code].append((r.person_id, r.name, r.role, r.grade, r.amount_fen, r.result_set))
        published = [d for d in outbox_data(session, "assessment.subsidies_published") if d["period"] == "2026-10"]
        flag_rows = [(r.grid_code, r.flag, r.reason, r.evidence) for r in session.execute(
            select(flags).where(flags.c.period == "2026-10").order_by(flags.c.id)).all()]
        flag_events = [d for d in outbox_data(session, "assessment.flag_raised") if d["period"] == "2026-10"]

    assert len(set(grades.values())) >= 2, grades  # the lists differ in grade, so in amount
    lists = expected_lists(people, tree, grades, rules)
    assert len(lists) == 32 and answers[10]["subsidy_lists"] == len(published) == len(lists)
    assert {d["grid_code"]: (d["grade"], d["payees"]) for d in published} == lists
    assert all(d["total_fen"] == sum(p["amount_fen"] for p in d["payees"]) and d["rule_version"] == rules.version
               for d in published)
    assert dict(written) == {grid: [(p["person_id"], p["name"], p["role"], grade, p["amount_fen"],
                                     answers[10]["result_set"]) for p in payees]
                             for grid, (grade, payees) in lists.items()}

    assert answers[10]["flags"] == len(flag_rows) == len(flag_events)
    assert [(d["grid_code"], d["flag"], d["reason"], d["evidence"]) for d in flag_events] == flag_rows
    level4 = defaultdict(set)
    for grid, flag, _, evidence in flag_rows:
        if grid in grades:
            level4[grid].add(flag)
            assert evidence["result_set"] == answers[10]["result_set"]
            if flag == "failing_twice":
                assert [r["grade"] for r in evidence["results"]] == ["不合格", "不合格"]
    failing = {f"{VILLAGE}{i:03d}" for i in range(2, 41, 3)}
    assert dict(level4) == {grid: {"repeated_breaches", "failing_twice"} for grid in failing}
