"""With dispatch and the registry stopped, reports are still accepted and answered with tracking codes;
when they start, every report becomes a case."""
import os
import subprocess
import sys

import pytest
import requests
from sqlalchemy import func, select

from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET
from servicekit.db import Database
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration


def public():
    # Signed when used: an identity header is only valid for five minutes.
    return ident.sign(ident.Identity("anonymous", frozenset({"public"})), DEV_IDENTITY_SECRET)



def cli(service, env, *args):
    exe = os.path.join(os.path.dirname(sys.executable), f"envgrid-{service}")
    result = subprocess.run([exe, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_reports_filed_while_dispatch_and_the_registry_are_down_all_become_cases(broker, pg_databases, processes,
                                                                                tmp_path):
    from dispatch.models import case_incidents
    envs = {s: {**broker.env, "DATABASE_URL": pg_databases.create(s), "RELAY_POLL_MS": "50"}
            for s in ("grid-registry", "incidents", "dispatch")}
    for service, env in envs.items():
        assert "queues declared" in cli(service, env, "migrate")  # deployed: queues exist, no process runs yet
    envs["incidents"].update(REGISTRY_URL="http://127.0.0.1:9", EVIDENCE_DIR=str(tmp_path / "ev"))
    incidents = processes.web("incidents", envs["incidents"], workers=1)
    processes.worker("incidents", envs["incidents"])
    points = [(112.86 + i * 0.001, 35.50 + i * 0.001) for i in range(10)]
    filed = []
    for lon, lat in points:
        response = requests.post(f"http://127.0.0.1:{incidents.port}/api/v1/incidents/reports", headers=public(), json={
            "channel": "public_web", "category": "catering_fumes", "description": "油烟扰民",
            "location": {"lon": lon, "lat": lat}})
        assert response.status_code == 201 and response.json()["tracking_code"]
        filed.append(response.json()["incident_id"])

    # Now the registry (with the demo district) and dispatch come up.
    cli("grid-registry", envs["grid-registry"], "load-demo")
    registry = processes.web("grid-registry", envs["grid-registry"], workers=1)
    processes.worker("grid-registry", envs["grid-registry"])
    envs["dispatch"]["REGISTRY_URL"] = f"http://127.0.0.1:{registry.port}"
    processes.worker("dispatch", envs["dispatch"])
    db = Database(envs["dispatch"]["DATABASE_URL"])

    def cases():
        with db.transaction() as session:
            return session.execute(select(func.count()).select_from(case_incidents)
                                   .where(case_incidents.c.incident_id.in_(filed))).scalar_one()
    wait_until(lambda: cases() == len(filed), 240, interval=0.5, message="a case for every report")
