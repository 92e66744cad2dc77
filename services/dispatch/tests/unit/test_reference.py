"""The reference data every report reads (first levels, assignment rules, calendar overrides), kept per
process for a few seconds: changes through dispatch itself count at once, any other within the TTL."""
from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from servicekit.tables import utcnow
from servicekit.testing import statements_sent

API = "/api/v1/dispatch"
L4 = "140502001001001"


@pytest.fixture(autouse=True)
def fresh_reference(monkeypatch):
    """An empty cache, kept 5 s by a clock the test moves."""
    from dispatch import reference
    clock = {"now": 1000.0}
    monkeypatch.setattr(reference.SNAPSHOTS, "clock", lambda: clock["now"])
    monkeypatch.setenv("REFERENCE_CACHE_S", "5")
    reference.forget()
    yield clock
    reference.forget()


@pytest.fixture
def reads(db):
    """reads() → the reads of the reference tables so far."""
    with statements_sent(db.engine) as sent:
        yield lambda: [s for s in sent if any(f"FROM {table}" in s.sql
                                              for table in ("categories", "assignment_rules", "calendar_overrides"))]


def level_of(db, incident_id):
    from dispatch.models import case_incidents, cases
    with db.transaction() as session:
        return session.execute(cases.select().join(case_incidents, case_incidents.c.case_id == cases.c.case_id)
                               .where(case_incidents.c.incident_id == incident_id)).one().level


def test_reports_within_the_ttl_read_the_reference_tables_once(db, report, registry_locate, reads,
                                                                fresh_reference):
    report()
    assert len(reads()) == 3  # categories, rules, calendar: once
    report()
    report()
    assert len(reads()) == 3
    fresh_reference["now"] += 5.0
    report()
    assert len(reads()) == 6


def test_a_rule_set_through_the_api_counts_at_once_in_this_process(db, report, registry_locate, client, as_role):
    assert level_of(db, report()) == 4  # the rules are now cached
    changed = client.put(f"{API}/assignment-rules", headers=as_role("district_ops"),
                         json={"channel": "public_web", "category": "catering_fumes", "level": 3})
    assert changed.status_code == 200
    assert level_of(db, report()) == 3  # no waiting for the TTL


def test_a_change_made_elsewhere_counts_once_the_ttl_has_passed(db, report, registry_locate, fresh_reference):
    from dispatch.models import categories
    assert level_of(db, report()) == 4
    with db.transaction() as session:  # as another process (or an operator) would change it
        session.execute(update(categories).where(categories.c.code == "catering_fumes").values(first_level=2))
    assert level_of(db, report()) == 4  # still the copy read a moment ago
    fresh_reference["now"] += 5.0  # (the TTL's edges: servicekit's test_snapshots)
    assert level_of(db, report()) == 2


def test_a_calendar_override_made_elsewhere_moves_deadlines_once_the_ttl_has_passed(db, report, registry_locate,
                                                                                    fresh_reference):
    from dispatch.models import calendar_overrides, case_incidents, cases
    from dispatch.sla import SHANGHAI

    def due_day(incident_id):
        with db.transaction() as session:
            row = session.execute(cases.select().join(case_incidents, case_incidents.c.case_id == cases.c.case_id)
                                  .where(case_incidents.c.incident_id == incident_id)).one()
        return row.due_at.astimezone(SHANGHAI).date()

    before = due_day(report())  # one working day on
    with db.transaction() as session:  # the district makes that day a rest day
        session.execute(insert(calendar_overrides).values(day=before, workday=False, note="停工"))
    assert due_day(report()) == before
    fresh_reference["now"] += 5.0
    assert due_day(report()) > before


def test_the_categories_timer_counts_at_once_in_its_process(db, dispatch_settings, report, registry_locate,
                                                           monkeypatch):
    from dispatch import timers
    assert level_of(db, report()) == 4
    copied = [{"code": "catering_fumes", "name": "餐饮油烟", "first_level": 3, "department_code": "urban_management",
               "active": True}]
    monkeypatch.setattr(timers, "get_json", lambda *args, **kwargs: {"items": copied})
    timers.refresh_categories(dispatch_settings, db)
    assert level_of(db, report()) == 3


def test_a_rule_change_rolled_back_leaves_the_rules_as_they_were(db, report, registry_locate):
    from dispatch import cases
    assert level_of(db, report()) == 4
    with pytest.raises(RuntimeError):
        with db.transaction() as session:
            cases.set_rule(session, {"channel": "public_web", "category": "catering_fumes", "level": 2})
            raise RuntimeError("the request failed")
    assert level_of(db, report()) == 4


def test_a_deadline_uses_the_cached_calendar_the_same_as_a_fresh_one(db, report, registry_locate):
    from dispatch import sla
    from dispatch.models import case_incidents, cases
    incident = report()
    with db.transaction() as session:
        row = session.execute(cases.select().join(case_incidents, case_incidents.c.case_id == cases.c.case_id)
                              .where(case_incidents.c.incident_id == incident)).one()
    rule = sla.DEFAULT_POLICY.rule_for(4, "catering_fumes", "general", False)
    assert row.due_at == sla.deadline(row.assigned_at, rule, sla.calendar())
    assert row.due_at - row.assigned_at >= timedelta(days=1) and row.due_at > utcnow()
