"""A month of activity for one village flows through the real broker into the assessment worker on
PostgreSQL; the month is closed through the web process and scored as computed by hand (see the unit
test's worked example); the same events delivered again change nothing."""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import insert

from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET
from servicekit.db import Database
from servicekit.events import new_envelope
from servicekit.publisher import ConfirmingPublisher, OutgoingMessage
from servicekit.tables import inbox
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration

G1, G2 = "140502001001001", "140502001001002"
OCT = datetime(2026, 10, 15, 2, 0, tzinfo=timezone.utc)


def events():
    def case(kind, case_id, grid, **extra):
        data = {"case_id": case_id, "incident_ids": [f"R{case_id}"], "state": extra.pop("state", "assigned"),
                "grid_code": grid, "at": OCT.isoformat(), "channel": "public_web", "level": 4,
                "category": "catering_fumes", "due_at": (OCT + timedelta(days=1)).isoformat(),
                "action": kind.split(".")[1]} | extra
        return new_envelope(kind, data, "dispatch")
    out = [case("case.assigned", "C1", G1), case("case.handled", "C1", G1, state="handled", on_time=True),
           case("case.closed", "C1", G1, state="closed"), case("case.assigned", "C2", G2)]
    out += [case("case.sla_breached", "C2", G2, timer="breach", breach_action="flag") for _ in range(3)]
    for day in range(1, 21):
        started = datetime(2026, 10, day, 1, 0, tzinfo=timezone.utc)
        out.append(new_envelope("patrol.recorded", {
            "patrol_id": f"P{day}", "grid_code": G1, "staff": "P1", "started_at": started.isoformat(),
            "ended_at": (started + timedelta(hours=1)).isoformat(), "distance_m": 800.0, "checkpoints": 5,
            "problems": []}, "incidents"))
    return out


def test_a_month_through_the_broker_scores_as_computed_by_hand(broker, pg_url, processes):
    from assessment.models import grid_members, grid_view
    env = {**broker.env, "DATABASE_URL": pg_url, "REGISTRY_URL": "http://127.0.0.1:9"}
    exe = os.path.join(os.path.dirname(sys.executable), "envgrid-assessment")
    subprocess.run([exe, "migrate"], env={**os.environ, **env}, check=True, capture_output=True, timeout=120)
    db = Database(pg_url)
    tree = [("140502", 1, None), ("140502001", 2, "140502"), ("140502001001", 3, "140502001"),
            (G1, 4, "140502001001"), (G2, 4, "140502001001")]
    with db.transaction() as session:
        session.execute(insert(grid_view), [{"code": c, "name": c, "level": lvl, "parent_code": p, "kind": "x",
                                             "status": "active", "version": 1} for c, lvl, p in tree])
        session.execute(insert(grid_members), [
            {"membership_id": 1, "grid_code": G1, "person_id": "P1", "name": "张伟", "phone": "13900000000",
             "role": "leader", "leads": True, "removed": False}])
    processes.worker("assessment", env)
    web = processes.web("assessment", env, workers=1)
    sent = events()
    publisher = ConfirmingPublisher(broker.settings("test"))
    try:
        for batch in (sent, sent):  # everything twice: a redelivery must change nothing
            answers = publisher.publish_batch([OutgoingMessage(e.id, e.type, e.to_json().encode()) for e in batch])
            assert set(answers.values()) == {None}
    finally:
        publisher.close()

    def all_applied():
        with db.transaction() as session:
            return session.query(inbox).count() == len(sent)
    wait_until(all_applied, 30, message="every event in the inbox")
    base = f"http://127.0.0.1:{web.port}/api/v1/assessment"
    ops = ident.sign(ident.Identity("ops", frozenset({"district_ops"})), DEV_IDENTITY_SECRET)
    assert requests.post(f"{base}/periods/2026-10/close", headers=ops).status_code == 200
    items = {i["grid_code"]: i for i in requests.get(f"{base}/periods/2026-10/scores", headers=ops).json()["items"]}
    assert (items[G1]["score"], items[G1]["grade"]) == ("79.00", "合格")
    assert (items[G2]["score"], items[G2]["grade"]) == ("29.00", "不合格")
    pay = requests.get(f"{base}/periods/2026-10/subsidies", headers=ops).json()["items"]
    assert [(p["person_id"], p["amount_fen"]) for p in pay] == [("P1", 24000)]
