"""Concurrent actions on one case through gunicorn on PostgreSQL: exactly one wins."""
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import requests
from sqlalchemy import insert, select

from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET
from servicekit.db import Database
from servicekit.tables import utcnow

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
