"""Concurrent actions on one case on PostgreSQL (through gunicorn, or two transactions): exactly one wins."""
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import requests
from sqlalchemy import func, insert, select, text

from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET, load_settings
from servicekit.db import Database
from servicekit.errors import ApiError
from servicekit.migrate import upgrade
from servicekit.tables import outbox, utcnow
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration


def test_ten_concurrent_accepts_of_one_version_let_exactly_one_through(broker, pg_url, processes):
    from dispatch.models import case_history, cases
    env = {**broker.env, "DATABASE_URL": pg_url}
    exe = os.path.join(os.path.dirname(sys.executable), "envgrid-dispatch")
    subprocess.run([exe, "migrate"], env={**os.environ, **env}, check=True, capture_output=True, timeout=120)
    db = Database(pg_url)
    now = utcnow()
    with db.transaction() as session:
        session.execute(insert(cases).values(
            case_id="C20261128RACE01", state="assigned", grid_code="140502001001001", level=4,
            category="catering_fumes", channel="public_web", severity="normal", supervision="general", major=False,
            emergency=False, policy_version=1, assigned_at=now, due_at=None, paused_at=None, rework_count=0,
            escalations=0, lon=None, lat=None, address=None, outside_district=False, flagged=None, city=None,
            department_code=None, referred_to=None, verified_true=None, handled_on_spot=False,
            first_incident="R1", version=3, created_at=now, updated_at=now, closed_at=None))
    web = processes.web("dispatch", env, workers=2)
    url = f"http://127.0.0.1:{web.port}/api/v1/dispatch/cases/C20261128RACE01/actions/accept"

    def accept(i):
        who = ident.Identity(f"staff-{i}", frozenset({"grid_staff"}), ("140502001001001",))
        return requests.post(url, headers=ident.sign(who, DEV_IDENTITY_SECRET), json={"version": 3}).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = sorted(pool.map(accept, range(10)))
    assert statuses == [200] + [409] * 9
    with db.transaction() as session:
        assert session.execute(select(cases.c.state, cases.c.version)).one() == ("accepted", 4)
        assert [a for (a,) in session.execute(select(case_history.c.action)).all()] == ["accept"]


def test_an_escalation_waiting_behind_an_accept_of_the_same_version_gets_409_and_writes_nothing(pg_url, tmp_path):
    """The version check rides on the UPDATE itself (RETURNING the case): an UPDATE that waited for the
    other transaction's lock finds the version moved on, returns no row, and the escalation is refused."""
    from dispatch import cases as use_cases
    from dispatch.bootstrap import SPEC
    from dispatch.models import case_history, case_timers, cases
    upgrade(SPEC, load_settings("dispatch", {"DATABASE_URL": pg_url, "ENVGRID_DATA_DIR": str(tmp_path)}))
    db = Database(pg_url)
    now = utcnow()
    with db.transaction() as session:
        session.execute(insert(cases).values(
            case_id="C20261128RACE02", state="assigned", grid_code="140502001001001", level=4,
            category="catering_fumes", channel="public_web", severity="normal", supervision="general", major=False,
            emergency=False, policy_version=1, assigned_at=now, due_at=None, paused_at=None, rework_count=0,
            escalations=0, lon=None, lat=None, address=None, outside_district=False, flagged=None, city=None,
            department_code=None, referred_to=None, verified_true=None, handled_on_spot=False,
            first_incident="R2", version=3, created_at=now, updated_at=now, closed_at=None))
    escalation: dict = {}

    def escalate():
        try:
            with db.transaction() as session:
                row = use_cases._get(session, "C20261128RACE02")  # version 3: the accept is not committed yet
                use_cases.assign(session, row, "140502001001", "escalated", action="escalate")
            escalation["outcome"] = "escalated"
        except ApiError as exc:
            escalation["outcome"] = exc.status
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            escalation["outcome"] = repr(exc)

    def waiting_for_a_lock():
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock'")).scalar_one() == 1

    staff = ident.Identity("staff-1", frozenset({"grid_staff"}), ("140502001001001",))
    racer = threading.Thread(target=escalate)
    with db.transaction() as session:
        use_cases.act(session, "C20261128RACE02", "accept", {"version": 3}, staff)
        racer.start()
        wait_until(waiting_for_a_lock, timeout=20, message="the escalation to wait for the accept's row lock")
    racer.join(timeout=20)
    assert escalation == {"outcome": 409}
    with db.transaction() as session:
        assert session.execute(select(cases.c.state, cases.c.grid_code, cases.c.version)).one() == (
            "accepted", "140502001001001", 4)
        assert session.execute(select(case_history.c.action)).scalars().all() == ["accept"]
        assert session.execute(select(func.count()).select_from(case_timers)).scalar_one() == 0
        assert session.execute(select(outbox.c.event_type)).scalars().all() == ["case.accepted"]
    db.dispose()
