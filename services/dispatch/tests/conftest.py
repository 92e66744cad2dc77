"""Fixtures of the dispatch tests: a migrated database with a small grid read model and categories,
and a stand-in for the registry's locate answer (unit tests only; integration tests use the real one)."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert

from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.events import new_envelope, registry
from servicekit.migrate import upgrade

CHAIN = [("140502", "城区", 1, None), ("140502001", "东街街道", 2, "140502"),
         ("140502001001", "凤台社区", 3, "140502001"), ("140502001001001", "凤台社区第1网格", 4, "140502001001"),
         ("140502001001002", "凤台社区第2网格", 4, "140502001001")]




@pytest.fixture
def dispatch_settings(tmp_path):
    from dispatch.bootstrap import SPEC
    from dispatch.models import categories, grid_view
    settings = load_settings("dispatch", {"ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(SPEC, settings)
    with Database(settings.database_url).transaction() as session:
        session.execute(insert(grid_view), [{"code": c, "name": n, "level": lvl, "parent_code": p, "kind": "area",
                                             "status": "active", "version": 1} for c, n, lvl, p in CHAIN])
        session.execute(insert(categories), [
            {"code": "catering_fumes", "name": "餐饮油烟", "first_level": 4, "department_code": "urban_management",
             "active": True},
            {"code": "black_smoke_vehicle", "name": "冒黑烟车辆", "first_level": 2, "department_code": "traffic_police",
             "active": True}])
    return settings


@pytest.fixture
def db(dispatch_settings):
    return Database(dispatch_settings.database_url)


@pytest.fixture
def registry_locate(monkeypatch):
    """The registry's locate, answered from CHAIN: every point lies in 140502001001001. Set .down to fail."""
    from dispatch import cases

    class FakeRegistry:
        down = False
        calls = 0

        def __call__(self, settings, base, path, params=None, timeout=5.0):
            self.calls += 1
            if self.down:
                raise OSError("connection refused")
            chain = [{"code": c, "name": n, "level": lvl} for c, n, lvl, _ in CHAIN[:4]]
            return {"inside": True, "chain": chain, "grid": chain[-1]}

    fake = FakeRegistry()
    monkeypatch.setattr(cases, "get_json", fake)
    return fake


@pytest.fixture
def consumer(dispatch_settings, db):
    from dispatch.bootstrap import SPEC
    from servicekit.consumer import Consumer
    return Consumer(dispatch_settings, db, registry, SPEC.handlers)


def incident_reported(incident_id: str, **changes) -> dict:
    """The data of an incident.reported event as incidents publishes it (a public report), with `changes`."""
    return {"incident_id": incident_id, "channel": "public_web", "category": "catering_fumes",
            "description": "油烟扰民", "severity": "normal", "major": False,
            "observed_at": datetime.now(timezone.utc).isoformat(),
            "reported_at": datetime.now(timezone.utc).isoformat(),
            "location": {"lon": 112.85, "lat": 35.45, "datum_received": "wgs84", "address": None,
                         "outside_district": False},
            "grid_hint": None, "reporter_named": True, "reported_by": None, "handled_on_spot": False,
            "duplicate_of": None, "evidence": [], "city": None} | changes


@pytest.fixture
def reported():
    """reported(incident_id, **changes) → the data of an incident.reported event (not delivered)."""
    return incident_reported


@pytest.fixture
def report(consumer):
    """report(**changes) → deliver an incident.reported event to dispatch; returns its incident id."""
    counter = {"n": 0}

    def deliver(**changes):
        counter["n"] += 1
        data = incident_reported(**({"incident_id": f"R20261128T{counter['n']:05d}"} | changes))
        outcome, _ = consumer.process(new_envelope("incident.reported", data, "incidents").to_json().encode(), 1)
        assert outcome.action == "processed", outcome.error
        return data["incident_id"]
    return deliver


@pytest.fixture
def client(dispatch_settings):
    from dispatch.app import create_app
    return create_app(dispatch_settings).test_client()


