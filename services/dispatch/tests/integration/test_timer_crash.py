"""Killing the timer process mid-sweep fires nothing twice and misses nothing (PostgreSQL, real processes)."""
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from servicekit.db import Database
from servicekit.tables import outbox, utcnow
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration

CASES = 1500  # three timers each, all due: 4,500 timers for the sweep


def seed(db):
    from dispatch.models import case_timers, cases
    now = utcnow()
    rows, timers = [], []
    for i in range(CASES):
        case_id = f"C20261128{i:06d}"
        rows.append(dict(case_id=case_id, state="accepted", grid_code="140502001001", level=3,
                         category="catering_fumes", channel="public_web", severity="normal", supervision="general",
                         major=False, emergency=False, policy_version=1, assigned_at=now, due_at=now,
                         paused_at=None, rework_count=0, escalations=0, lon=None, lat=None, address=None,
                         outside_district=False, flagged=None, city=None, department_code=None, referred_to=None,
                         verified_true=None, handled_on_spot=False, first_incident=f"R{i}", version=1,
                         created_at=now, updated_at=now, closed_at=None))
        timers += [dict(case_id=case_id, kind=kind, due_at=now - timedelta(minutes=1), cancelled=False)
                   for kind in ("warn_50", "warn_75", "breach")]
    with db.transaction() as session:
        session.execute(insert(cases), rows)
        session.execute(insert(case_timers), timers)


def fired(db):
    from dispatch.models import case_timers
    with db.transaction() as session:
        return session.execute(select(func.count()).select_from(case_timers)
                               .where(case_timers.c.fired_at.is_not(None))).scalar_one()


def test_a_timer_process_killed_mid_sweep_is_replaced_without_double_or_missed_fires(broker, pg_url, processes):
    env = {**broker.env, "DATABASE_URL": pg_url, "SLA_SWEEP_S": "0.2", "REGISTRY_URL": "http://127.0.0.1:9"}
    exe = os.path.join(os.path.dirname(sys.executable), "envgrid-dispatch")
    subprocess.run([exe, "migrate"], env={**os.environ, **env}, check=True, capture_output=True, timeout=120)
    db = Database(pg_url)
    seed(db)
    first = processes.worker("dispatch", env)
    wait_until(lambda: fired(db) >= 200, 60, interval=0.01, message="the sweep to be under way")
    processes.kill(first, signal.SIGKILL)
    at_kill = fired(db)
    assert at_kill < 3 * CASES, "the sweep finished before it could be interrupted; raise CASES"
    processes.worker("dispatch", env)
    wait_until(lambda: fired(db) == 3 * CASES, 120, interval=0.2, message="every timer fired")
    with db.transaction() as session:
        payloads = session.execute(select(outbox.c.payload).where(
            outbox.c.event_type.in_(["case.sla_warning", "case.sla_breached"]))).scalars().all()
    keys = [(json.loads(p)["data"]["case_id"], json.loads(p)["data"]["timer"]) for p in payloads]
    assert len(keys) == 3 * CASES and len(set(keys)) == 3 * CASES  # each timer's event exactly once
