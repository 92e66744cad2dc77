"""Every route behind the gateway × every role, through the gateway to the real services.

Generated from gateway/gateway/access_table.py, which a unit test keeps equal to
the services' own route declarations, so this matrix cannot drift from the routes.
Expected: a role the route allows is never refused (whatever else the made-up
ids lead to: 404, 422); any other role is 403; no credentials where the public is
not allowed is 401.
"""
import json
import os
import re
import subprocess
import sys

import pytest
import requests

from gateway.access_table import ROUTES
from servicekit.identity import ROLES

pytestmark = pytest.mark.integration

SAMPLE = {"code": "140502", "grid_code": "140502", "case_id": "C20260101XXXXXX", "incident_id": "R20260101XXXXXX",
          "probe_id": "00000000-0000-0000-0000-000000000000", "membership_id": "1", "person_id": "P0",
          "order_id": "O0", "rectification_id": "1", "source_id": "S0", "evidence_id": "0" * 64,
          "tracking_code": "0000-0000-0000", "action": "accept", "level": "4", "key_id": "x"}


def concrete(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: SAMPLE.get(m.group(1), "x"), rule)


def cli(service, env, *args):
    exe = os.path.join(os.path.dirname(sys.executable), f"envgrid-{service}")
    result = subprocess.run([exe, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def gateway(broker, pg_databases, processes):
    services = ("grid-registry", "incidents", "dispatch", "assessment", "rewards")
    upstreams = {}
    for service in services:
        env = {**broker.env, "DATABASE_URL": pg_databases.create(service)}
        cli(service, env, "migrate")
        web = processes.web(service, env, workers=1)
        upstreams[f"UPSTREAM_{service.upper().replace('-', '_')}_URL"] = f"http://127.0.0.1:{web.port}"
    gateway_env = {"DATABASE_URL": pg_databases.create("gateway"), "GATEWAY_RATE_PUBLIC": "100000"}
    cli("gateway", gateway_env, "migrate")
    keys = {}
    for role in sorted(ROLES):
        grid = ["--grid", "140502"] if role == "grid_staff" else []
        made = json.loads(cli("gateway", gateway_env, "api-keys", "create", "--subject", f"matrix-{role}",
                              "--role", role, *grid).splitlines()[0])
        keys[role] = made["key"]
    web = processes.web("gateway", {**gateway_env, **upstreams}, workers=1)
    return f"http://127.0.0.1:{web.port}", keys


def test_every_route_answers_every_role_as_the_table_says(gateway):
    base, keys = gateway
    wrong = []
    with requests.Session() as http:
        for service, method, rule, allowed in ROUTES:
            url = base + concrete(rule)
            body = {} if method in ("POST", "PUT", "PATCH") else None
            for role in [None, *sorted(ROLES)]:
                headers = {"X-API-Key": keys[role]} if role else {}
                status = http.request(method, url, json=body, headers=headers, timeout=10).status_code
                if role is None:
                    expected_ok = "public" in allowed
                    ok = status not in (401, 403) if expected_ok else status == 401
                elif role in allowed:
                    ok = status not in (401, 403)
                else:
                    ok = status == 403
                if not ok:
                    wrong.append(f"{method} {rule} as {role or 'nobody'}: {status}")
    assert wrong == [], "\n".join(wrong)
    assert len(ROUTES) >= 60
