"""Fixtures of the assessment tests: a migrated database with a small grid tree and its people."""
import pytest
from sqlalchemy import insert

from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.migrate import upgrade

TREE = [("140502", "城区", 1, None), ("140502001", "东街街道", 2, "140502"),
        ("140502001001", "凤台社区", 3, "140502001"),
        ("140502001001001", "凤台社区第1网格", 4, "140502001001"),
        ("140502001001002", "凤台社区第2网格", 4, "140502001001"),
        ("1405020010010010001", "宏达饭店", 5, "140502001001001")]
PEOPLE = [(1, "140502001001001", "P1", "张伟", "leader"), (2, "140502001001002", "P2", "李娜", "leader"),
          (3, "1405020010010010001", "P3", "刘强", "unit_leader"), (4, "140502001001001", "P4", "王芳", "grid_member")]




@pytest.fixture
def assessment_settings(tmp_path):
    from assessment.bootstrap import SPEC
    from assessment.models import grid_members, grid_view
    settings = load_settings("assessment", {"ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(SPEC, settings)
    with Database(settings.database_url).transaction() as session:
        session.execute(insert(grid_view), [{"code": c, "name": n, "level": lvl, "parent_code": p, "kind": "x",
                                             "status": "active", "version": 1} for c, n, lvl, p in TREE])
        session.execute(insert(grid_members), [
            {"membership_id": i, "grid_code": g, "person_id": pid, "name": name, "phone": "13900000000",
             "role": role, "leads": role in ("leader", "unit_leader"), "removed": False}
            for i, g, pid, name, role in PEOPLE])
    return settings


@pytest.fixture
def db(assessment_settings):
    return Database(assessment_settings.database_url)


@pytest.fixture
def client(assessment_settings):
    from assessment.app import create_app
    return create_app(assessment_settings).test_client()


@pytest.fixture
def deliver(assessment_settings, db):
    """deliver(event_type, data) through the real consumer path; returns its outcome."""
    from assessment.bootstrap import SPEC
    from servicekit.consumer import Consumer
    from servicekit.events import new_envelope, registry
    consumer = Consumer(assessment_settings, db, registry, SPEC.handlers)

    def send(event_type, data, envelope=None):
        envelope = envelope or new_envelope(event_type, data, "dispatch")
        outcome, _ = consumer.process(envelope.to_json().encode(), 1)
        assert outcome.action in ("processed", "duplicate"), outcome.error
        return outcome.action, envelope
    return send


