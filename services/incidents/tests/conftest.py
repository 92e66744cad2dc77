"""Fixtures of the incidents tests: an app on a fresh database whose reference copies are filled.

The district outline is the square x 112.80-112.90, y 35.40-35.50 (as in the
registry's tiny test district); categories are a few of the registry's defaults.
"""
import pytest
from sqlalchemy import insert

from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.migrate import upgrade
from servicekit.tables import utcnow

OUTLINE = '{"type":"Polygon","coordinates":[[[112.8,35.4],[112.9,35.4],[112.9,35.5],[112.8,35.5],[112.8,35.4]]]}'
CATEGORIES = [("catering_fumes", "餐饮油烟"), ("open_burning", "露天焚烧垃圾和秸秆"),
              ("construction_dust", "建筑工地扬尘"), ("air_quality_exceedance", "监测点位附近空气质量超标"),
              ("emergency_order", "重污染天气及突发环境事件应急指令"), ("prominent_problem", "市级反馈突出环境问题")]


def fill_reference(database_url: str) -> None:
    from incidents.models import categories, district_outline
    with Database(database_url).transaction() as session:
        session.execute(insert(categories), [{"code": c, "name": n, "active": True} for c, n in CATEGORIES])
        session.execute(insert(district_outline).values(id=1, code="140502", boundary=OUTLINE, fetched_at=utcnow()))




@pytest.fixture
def incidents_settings(tmp_path, monkeypatch):
    from incidents.bootstrap import SPEC
    monkeypatch.setenv("EVIDENCE_DIR", str(tmp_path / "evidence"))
    settings = load_settings("incidents", {"ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(SPEC, settings)
    return settings


@pytest.fixture
def db(incidents_settings):
    return Database(incidents_settings.database_url)


@pytest.fixture
def client(incidents_settings):
    from incidents import attachments
    from incidents.app import create_app
    attachments._store.clear()  # each test its own evidence folder
    fill_reference(incidents_settings.database_url)
    return create_app(incidents_settings).test_client()


@pytest.fixture
def pg_intake(pg_url, tmp_path, monkeypatch):
    """(test client, Database) of incidents on a fresh PostgreSQL database, reference copies filled."""
    from incidents.app import create_app
    from incidents.bootstrap import SPEC
    monkeypatch.setenv("EVIDENCE_DIR", str(tmp_path / "evidence"))
    settings = load_settings("incidents", {"DATABASE_URL": pg_url, "ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(SPEC, settings)
    fill_reference(pg_url)
    app = create_app(settings)
    database = Database(pg_url)
    yield app.test_client(), database
    app.extensions["envgrid"].db.dispose()
    database.dispose()
