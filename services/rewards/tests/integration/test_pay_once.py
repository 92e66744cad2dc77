"""Fifty concurrent pay requests for one award, through gunicorn on PostgreSQL: it is paid once."""
import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import requests
from sqlalchemy import func, select

from servicekit.db import Database
from servicekit.events import new_envelope
from servicekit.publisher import ConfirmingPublisher, OutgoingMessage
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration


def test_a_verified_report_through_the_broker_is_proposed_approved_and_paid_once(broker, pg_url, rewards_pg,
                                                                                 processes, office):
    from rewards.models import awards, ledger_entries, payments
    env = rewards_pg.env
    processes.worker("rewards", env)
    web = processes.web("rewards", env, workers=2)
    now = datetime.now(timezone.utc).isoformat()
    reported = new_envelope("incident.reported", {
        "incident_id": "R-PAY-1", "channel": "public_hotline", "category": "industrial_emissions",
        "description": "夜间偷排", "severity": "high", "major": False, "observed_at": now, "reported_at": now,
        "location": {"lon": 112.85, "lat": 35.45, "datum_received": "wgs84", "address": None,
                     "outside_district": False}, "grid_hint": None, "reporter_named": True,
        "reporter_key": "pseudonym-x", "tracking_key": hashlib.sha256(b"AAAA-0000-0001").hexdigest(),
        "reported_by": "op-1", "handled_on_spot": False, "duplicate_of": None, "evidence": [], "city": None},
        "incidents")
    closed = new_envelope("case.closed", {"case_id": "C-PAY-1", "incident_ids": ["R-PAY-1"], "state": "closed",
                                          "grid_code": "140502001", "at": now, "verified_true": True,
                                          "first_incident": "R-PAY-1", "outcome": "fined"}, "dispatch")
    publisher = ConfirmingPublisher(broker.settings("test"))
    try:
        for envelope in (reported, closed):
            assert publisher.publish_batch([OutgoingMessage(envelope.id, envelope.type,
                                                            envelope.to_json().encode())]) == {envelope.id: None}
    finally:
        publisher.close()
    base = f"http://127.0.0.1:{web.port}/api/v1/rewards"
    award = wait_until(lambda: requests.get(f"{base}/queue/to_review", headers=office("clerk")).json()["items"], 30,
                       message="the proposed award")[0]
    assert award["amount_fen"] == 300000  # industrial emissions, fined: 3000 yuan
    year = award["year"]
    assert requests.put(f"{base}/budgets/{year}", headers=office("head"), json={"ceiling_fen": 10_000_000}).ok
    assert requests.post(f"{base}/awards/{award['award_id']}/review", headers=office("clerk"), json={}).ok
    assert requests.post(f"{base}/awards/{award['award_id']}/approve", headers=office("head"), json={}).ok

    def pay(i):
        headers = {**office(f"cashier-{i % 3}"), "Idempotency-Key": f"pay-{i}"}
        return requests.post(f"{base}/awards/{award['award_id']}/pay", headers=headers,
                             json={"channel": "bank", "reference": f"BANK-{i:04d}"}).status_code

    with ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(pay, range(50)))
    assert statuses.count(200) == 1 and statuses.count(409) == 49, statuses
    with Database(pg_url).transaction() as session:
        assert session.execute(select(func.count()).select_from(payments)).scalar_one() == 1
        assert session.execute(select(func.count()).select_from(ledger_entries).where(
            ledger_entries.c.kind == "award_paid")).scalar_one() == 1
        assert session.execute(select(awards.c.state)).scalar_one() == "paid"
    balances = requests.get(f"{base}/budgets/{year}", headers=office("head")).json()
    assert balances["balances"]["paid"] == 300000 and balances["available_fen"] == 10_000_000 - 300000
