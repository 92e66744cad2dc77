"""Shared pieces of the rewards integration tests (PostgreSQL, gunicorn)."""
import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
import requests

from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET, load_settings
from servicekit.db import Database
from servicekit.events import new_envelope


def office_headers(subject):
    return ident.sign(ident.Identity(subject, frozenset({"rewards_office"})), DEV_IDENTITY_SECRET)


@pytest.fixture
def office():
    """office("head") → identity headers of a member of the reward office."""
    return office_headers


def _pay_again(base, award_id, prefix):
    """pay(i) → one of three cashiers pays `award_id` again under reference <prefix>-<i + 100>, with
    an Idempotency-Key of its own (so every call is a new attempt: a race, not a retry)."""
    def pay(i):
        headers = {**office_headers(f"cashier-{i % 3}"), "Idempotency-Key": f"again-{i}"}
        return requests.post(f"{base}/awards/{award_id}/pay", headers=headers,
                             json={"channel": "bank", "reference": f"{prefix}-{i + 100:04d}"})
    return pay


@pytest.fixture
def pay_again():
    """pay_again(base, award_id, "BANK-X") → pay(i), one racing payment of the award (see _pay_again)."""
    return _pay_again


@dataclass
class RewardsOnPostgres:
    env: dict
    db: Database
    settings: object

    def deliver(self, event_type, data, producer):
        """Hand one event to the rewards consumer, as the worker would."""
        from rewards.bootstrap import SPEC
        from servicekit.consumer import Consumer
        from servicekit.events import registry
        outcome, _ = Consumer(self.settings, self.db, registry, SPEC.handlers).process(
            new_envelope(event_type, data, producer).to_json().encode(), 1)
        assert outcome.action == "processed", outcome.error

    def verified_report(self, incident_id, code, reporter, category="water_pollution", description="暗管排污"):
        """A public hotline report whose case was closed verified true ("fined"): an award is proposed."""
        now = datetime.now(timezone.utc).isoformat()
        self.deliver("incident.reported", {
            "incident_id": incident_id, "channel": "public_hotline", "category": category,
            "description": description, "severity": "high", "major": False, "observed_at": now, "reported_at": now,
            "location": {"lon": 112.85, "lat": 35.45, "datum_received": "wgs84", "address": None,
                         "outside_district": False}, "grid_hint": None, "reporter_named": True,
            "reporter_key": reporter, "tracking_key": hashlib.sha256(code.encode()).hexdigest(),
            "reported_by": "op-1", "handled_on_spot": False, "duplicate_of": None, "evidence": [], "city": None},
            "incidents")
        self.deliver("case.closed", {"case_id": f"C-{incident_id}", "incident_ids": [incident_id],
                                     "state": "closed", "grid_code": "140502001", "at": now, "verified_true": True,
                                     "first_incident": incident_id, "outcome": "fined"}, "dispatch")


@pytest.fixture
def rewards_pg(broker, pg_url):
    """Rewards migrated by its own CLI on a new PostgreSQL database; `.env` for its processes."""
    env = {**broker.env, "DATABASE_URL": pg_url}
    exe = os.path.join(os.path.dirname(sys.executable), "envgrid-rewards")
    subprocess.run([exe, "migrate"], env={**os.environ, **env}, check=True, capture_output=True, timeout=120)
    db = Database(pg_url)
    yield RewardsOnPostgres(env, db, load_settings("rewards", {**os.environ, **env}))
    db.dispose()
