"""Grid changes reach dispatch's read model through RabbitMQ; an empty dispatch fills itself from the snapshot."""
import os
import subprocess
import sys

import pytest
import requests
from sqlalchemy import select

from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET
from servicekit.db import Database
from servicekit.testing import BrokerNamespace, wait_until

pytestmark = pytest.mark.integration


def ops():
    # Signed when used: an identity header is only valid for five minutes.
    return ident.sign(ident.Identity("ops-1", frozenset({"district_ops"})), DEV_IDENTITY_SECRET)



def migrate(service, env):
    exe = os.path.join(os.path.dirname(sys.executable), f"envgrid-{service}")
    subprocess.run([exe, "migrate"], env={**os.environ, **env}, check=True, capture_output=True, timeout=120)


def grid_row(url, code):
    from dispatch.models import grid_view
    with Database(url).transaction() as session:
        return session.execute(select(grid_view).where(grid_view.c.code == code)).first()


def count_rows(url):
    from dispatch.models import grid_view
    with Database(url).transaction() as session:
        return len(session.execute(select(grid_view.c.code)).all())


def test_a_grid_change_reaches_dispatch_and_a_late_dispatch_catches_up(broker, pg_databases, processes, tiny):
    registry_env = {**broker.env, "DATABASE_URL": pg_databases.create("registry"), "RELAY_POLL_MS": "50"}
    dispatch_env = {**broker.env, "DATABASE_URL": pg_databases.create("dispatch")}
    migrate("grid-registry", registry_env)
    migrate("dispatch", dispatch_env)
    processes.worker("dispatch", dispatch_env)  # its queue exists before the registry publishes
    web = processes.web("grid-registry", registry_env, workers=1)
    processes.worker("grid-registry", registry_env)
    api = f"http://127.0.0.1:{web.port}/api/v1/registry"

    assert requests.post(f"{api}/imports/grids", json=tiny, headers=ops()).status_code == 201
    wait_until(lambda: count_rows(dispatch_env["DATABASE_URL"]) == len(tiny["features"]), 30,
               message="every grid in dispatch's read model")
    assert requests.patch(f"{api}/grids/140502002", json={"name": "钟家庄街道"}, headers=ops()).status_code == 200
    row = wait_until(lambda: (r := grid_row(dispatch_env["DATABASE_URL"], "140502002")) and r.version == 2 and r,
                     30, message="the rename")
    assert row.name == "钟家庄街道"

    # A second dispatch on its own broker namespace hears none of those events:
    # it fills its empty read model from the registry's snapshot instead.
    late = BrokerNamespace(broker.amqp_url)
    late_env = {**late.env, "DATABASE_URL": pg_databases.create("late"),
                "REGISTRY_URL": f"http://127.0.0.1:{web.port}"}
    migrate("dispatch", late_env)
    try:
        processes.worker("dispatch", late_env)
        wait_until(lambda: count_rows(late_env["DATABASE_URL"]) == len(tiny["features"]), 30,
                   message="the snapshot")
        assert grid_row(late_env["DATABASE_URL"], "140502002").name == "钟家庄街道"
    finally:
        late.cleanup(["dispatch"])
