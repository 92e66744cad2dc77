"""Fixtures of the rewards tests."""
import hashlib
from datetime import datetime, timezone

import pytest

from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.migrate import upgrade




@pytest.fixture
def rewards_settings(tmp_path):
    from rewards.bootstrap import SPEC
    settings = load_settings("rewards", {"ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(SPEC, settings)
    return settings


@pytest.fixture
def db(rewards_settings):
    return Database(rewards_settings.database_url)


@pytest.fixture
def client(rewards_settings):
    from rewards.app import create_app
    return create_app(rewards_settings).test_client()


@pytest.fixture
def deliver(rewards_settings, db):
    from rewards.bootstrap import SPEC
    from servicekit.consumer import Consumer
    from servicekit.events import new_envelope, registry
    consumer = Consumer(rewards_settings, db, registry, SPEC.handlers)

    def send(event_type, data, producer="test"):
        outcome, _ = consumer.process(new_envelope(event_type, data, producer).to_json().encode(), 1)
        assert outcome.action == "processed", outcome.error
    return send


@pytest.fixture
def verified_report(deliver):
    """verified_report(incident_id, ...) → a public report whose case was closed verified true."""
    def make(incident_id="R1", code=None, named=True, reporter="pseudonym-1", outcome="fined",
             duplicate_of=None, category="catering_fumes", verified=True, channel="public_web"):
        now = datetime.now(timezone.utc).isoformat()
        code = code or f"{incident_id:0>4}-0000-0000"[-14:]
        deliver("incident.reported", {
            "incident_id": incident_id, "channel": channel, "category": category, "description": "x",
            "severity": "normal", "major": False, "observed_at": now, "reported_at": now,
            "location": {"lon": 112.85, "lat": 35.45, "datum_received": "wgs84", "address": None,
                         "outside_district": False},
            "grid_hint": None, "reporter_named": named, "reporter_key": reporter if named else None,
            "tracking_key": hashlib.sha256(code.encode()).hexdigest(), "reported_by": None,
            "handled_on_spot": False, "duplicate_of": duplicate_of, "evidence": [], "city": None}, "incidents")
        deliver("case.closed", {"case_id": f"C-{incident_id}", "incident_ids": [incident_id], "state": "closed",
                                "grid_code": "140502001001001", "at": now, "verified_true": verified,
                                "first_incident": incident_id, "outcome": outcome}, "dispatch")
        return incident_id
    return make


