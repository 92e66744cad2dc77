"""An anonymous reporter claims in person within the window: incidents records the identity, rewards
keeps only the pseudonym, and the award can then be approved and paid."""
import os
import subprocess
import sys

import pytest
import requests
from sqlalchemy import insert

from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET
from servicekit.db import Database
from servicekit.events import new_envelope
from servicekit.publisher import ConfirmingPublisher, OutgoingMessage
from servicekit.tables import utcnow
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration

OUTLINE = '{"type":"Polygon","coordinates":[[[112.8,35.4],[112.9,35.4],[112.9,35.5],[112.8,35.5],[112.8,35.4]]]}'


def sign(subject, *roles):
    return ident.sign(ident.Identity(subject, frozenset(roles)), DEV_IDENTITY_SECRET)


def cli(service, env, *args):
    exe = os.path.join(os.path.dirname(sys.executable), f"envgrid-{service}")
    subprocess.run([exe, *args], env={**os.environ, **env}, check=True, capture_output=True, timeout=120)


def test_an_anonymous_reporter_claims_and_is_paid(broker, pg_databases, processes, tmp_path):
    from incidents.models import categories, district_outline
    inc_env = {**broker.env, "DATABASE_URL": pg_databases.create("incidents"), "RELAY_POLL_MS": "50",
               "EVIDENCE_DIR": str(tmp_path / "ev"), "REGISTRY_URL": "http://127.0.0.1:9"}
    rew_env = {**broker.env, "DATABASE_URL": pg_databases.create("rewards")}
    cli("incidents", inc_env, "migrate")
    cli("rewards", rew_env, "migrate")
    with Database(inc_env["DATABASE_URL"]).transaction() as session:
        session.execute(insert(categories).values(code="catering_fumes", name="餐饮油烟", active=True))
        session.execute(insert(district_outline).values(id=1, code="140502", boundary=OUTLINE, fetched_at=utcnow()))
    incidents = processes.web("incidents", inc_env, workers=1)
    processes.worker("incidents", inc_env)
    rew_env["INCIDENTS_URL"] = f"http://127.0.0.1:{incidents.port}"
    rewards = processes.web("rewards", rew_env, workers=1)
    processes.worker("rewards", rew_env)

    filed = requests.post(f"http://127.0.0.1:{incidents.port}/api/v1/incidents/reports", headers=sign("anon", "public"),
                          json={"channel": "public_web", "category": "catering_fumes", "description": "油烟",
                                "location": {"lon": 112.85, "lat": 35.45}}).json()
    closed = new_envelope("case.closed", {"case_id": "C-CLAIM", "incident_ids": [filed["incident_id"]],
                                          "state": "closed", "grid_code": "140502001", "at": utcnow().isoformat(),
                                          "verified_true": True, "first_incident": filed["incident_id"],
                                          "outcome": "rectification_ordered"}, "dispatch")
    base = f"http://127.0.0.1:{rewards.port}/api/v1/rewards"
    clerk, head = sign("clerk", "rewards_office"), sign("head", "rewards_office")
    # The report reaches rewards through the broker; then the case closes.
    wait_until(lambda: requests.get(f"{base}/status/{filed['tracking_code']}", headers=sign("x", "public"))
               .status_code == 200, 30, message="rewards to know the report")
    publisher = ConfirmingPublisher(broker.settings("test"))
    try:
        publisher.publish_batch([OutgoingMessage(closed.id, closed.type, closed.to_json().encode())])
    finally:
        publisher.close()
    award = wait_until(lambda: requests.get(f"{base}/queue/to_review", headers=clerk).json()["items"], 30,
                       message="the proposed award")[0]
    assert award["claim_deadline"]
    requests.post(f"{base}/awards/{award['award_id']}/review", headers=clerk, json={})
    requests.put(f"{base}/budgets/{award['year']}", headers=head, json={"ceiling_fen": 1_000_000})
    refused = requests.post(f"{base}/awards/{award['award_id']}/approve", headers=head, json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "unclaimed"
    wrong = requests.post(f"{base}/awards/{award['award_id']}/claim", headers=clerk,
                          json={"tracking_code": "0000-0000-0000", "name": "赵六", "phone": "13700000000"})
    assert wrong.status_code == 403
    claimed = requests.post(f"{base}/awards/{award['award_id']}/claim", headers=clerk,
                            json={"tracking_code": filed["tracking_code"], "name": "赵六", "phone": "13700000000"})
    assert claimed.status_code == 200, claimed.text
    assert "赵六" not in claimed.text and claimed.json()["note"] == "已认领"
    assert requests.post(f"{base}/awards/{award['award_id']}/approve", headers=head, json={}).status_code == 200
    who = requests.get(f"{base}/awards/{award['award_id']}/reporter", headers=head,
                       params={"purpose": "支付举报奖励"}).json()
    assert (who["name"], who["phone"]) == ("赵六", "13700000000")
