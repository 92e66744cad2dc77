"""Every service starts as web + worker processes and shares one event backbone."""
import pytest
import requests
from sqlalchemy import select

from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET
from servicekit.db import Database
from servicekit.tables import probe_log
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration


def received(database_url, probe_id):
    with Database(database_url).transaction() as session:
        return session.execute(select(probe_log.c.event_id).where(
            probe_log.c.probe_id == probe_id, probe_log.c.direction == "received")).scalars().all()


def test_an_event_committed_by_one_service_is_consumed_once_by_every_other(system_env, processes):
    workers = {service: processes.worker(service, env) for service, env in system_env.items()}
    webs = {service: processes.web(service, env, workers=1) for service, env in system_env.items()}

    for service in system_env:
        for proc in (webs[service], workers[service]):
            base = f"http://127.0.0.1:{proc.port}"
            assert requests.get(f"{base}/healthz").status_code == 200
            ready = requests.get(f"{base}/readyz")
            assert ready.status_code == 200, (service, ready.text)
            assert "envgrid_" in requests.get(f"{base}/metrics").text

    headers = ident.sign(ident.Identity("ops-1", frozenset({"district_ops"}), name="值班员"),
                         DEV_IDENTITY_SECRET)
    response = requests.post(f"http://127.0.0.1:{webs['incidents'].port}/ops/probes",
                             json={"note": "全链路探针"}, headers=headers)
    assert response.status_code == 201
    probe_id, event_id = response.json()["probe_id"], response.json()["event_id"]

    for service in system_env:
        url = system_env[service]["DATABASE_URL"]
        wait_until(lambda: received(url, probe_id), 30, message=f"{service} to receive the probe")
    for service in system_env:
        assert received(system_env[service]["DATABASE_URL"], probe_id) == [event_id], service

    shown = requests.get(f"http://127.0.0.1:{webs['dispatch'].port}/ops/probes/{probe_id}", headers=headers).json()
    assert [(e["direction"], e["origin"], e["note"]) for e in shown["entries"]] == [("received", "incidents", "全链路探针")]
