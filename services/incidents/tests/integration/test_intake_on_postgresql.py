"""Intake's PostgreSQL statements, in process: the one-statement filing, clashes, the duplicate index, the backfill."""
import json
import random
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import func, insert, select, text

from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.migrate import alembic_config, upgrade
from servicekit.tables import outbox, utcnow

pytestmark = pytest.mark.integration

API = "/api/v1/incidents"
WEB = {"channel": "public_web", "category": "catering_fumes", "description": "饭店油烟直排"}
CORNER = (22570 / 200, 7090 / 200)  # a corner shared by four cells, inside the test district


def at(lon, lat):
    return {**WEB, "location": {"lon": lon, "lat": lat}}


def scalar(database, query):
    with database.transaction() as session:
        return session.execute(query).scalar_one()


@pytest.mark.parametrize("first,second,linked", [
    ((-0.0003, -0.0003), (0.0003, 0.0003), True),     # diagonally across the corner, ~65 m
    ((-0.0010, 0.0001), (0.0011, 0.0001), True),      # across a border, ~190 m
    ((-0.0010, 0.0001), (0.0013, 0.0001), False),     # ~208 m
    ((-0.0009, -0.0008), (0.0010, 0.0008), False),    # inside the lookup box, beyond the circle
], ids=["corner", "190m-across", "208m-across", "box-corner"])
def test_duplicates_are_found_across_cell_borders_within_the_radius_only(pg_intake, as_role, first, second, linked):
    client, database = pg_intake
    (x, y), public = CORNER, as_role("public")
    one = client.post(f"{API}/reports", json=at(x + first[0], y + first[1]), headers=public).get_json()
    two = client.post(f"{API}/reports", json=at(x + second[0], y + second[1]), headers=public).get_json()
    assert two["duplicate_of"] == (one["incident_id"] if linked else None)
    linked_events = scalar(database, select(func.count()).select_from(outbox)
                           .where(outbox.c.event_type == "incident.duplicate_linked"))
    assert linked_events == (1 if linked else 0)


def test_a_report_and_its_timeline_are_filed_with_the_events_in_order(pg_intake, as_role):
    from incidents.models import report_updates, reports
    client, database = pg_intake
    public = as_role("public")
    one = client.post(f"{API}/reports", json=at(112.85, 35.45), headers=public).get_json()
    two = client.post(f"{API}/reports", json={**at(112.8501, 35.4501), "reporter": {
        "name": "王小明", "phone": "13900001111"}}, headers=public).get_json()
    assert two["duplicate_of"] == one["incident_id"]
    with database.transaction() as session:
        row = session.execute(select(reports).where(reports.c.incident_id == two["incident_id"])).one()
        updates = session.execute(select(report_updates.c.incident_id, report_updates.c.status,
                                         report_updates.c.at).order_by(report_updates.c.id)).all()
        sent = session.execute(select(outbox.c.event_type, outbox.c.payload).order_by(outbox.c.id)).all()
    assert b"13900001111" not in bytes(row.reporter_phone_sealed) and row.cell is not None
    assert [(u.incident_id, u.status) for u in updates] == [(one["incident_id"], "received"),
                                                            (two["incident_id"], "received")]
    assert updates[1].at == row.reported_at
    assert [e.event_type for e in sent] == ["incident.reported", "incident.reported", "incident.duplicate_linked"]
    assert json.loads(sent[2].payload)["data"]["duplicate_of"] == one["incident_id"]
    tracked = client.get(f"{API}/track/{two['tracking_code']}", headers=public).get_json()
    assert tracked["status"] == "received" and len(tracked["updates"]) == 1


@pytest.mark.parametrize("clash", ["incident_id", "tracking_code"])
def test_a_clash_of_identifiers_is_filed_again_under_new_ones(pg_intake, as_role, monkeypatch, clash):
    from incidents import domain
    from incidents.models import report_updates, reports
    client, database = pg_intake
    public = as_role("public")
    first = client.post(f"{API}/reports", json=at(112.85, 35.45), headers=public).get_json()
    new_id, new_code = domain.new_incident_id, domain.new_tracking_code
    taken = iter([first[clash]])
    if clash == "incident_id":
        monkeypatch.setattr(domain, "new_incident_id", lambda now: next(taken, None) or new_id(now))
    else:
        monkeypatch.setattr(domain, "new_tracking_code", lambda: next(taken, None) or new_code())
    response = client.post(f"{API}/reports", json=at(112.86, 35.46), headers=public)
    assert response.status_code == 201 and response.get_json()[clash] != first[clash]
    assert scalar(database, select(func.count()).select_from(reports)) == 2
    assert scalar(database, select(func.count()).select_from(report_updates)) == 2


def test_a_city_instruction_filed_twice_is_answered_with_the_first(pg_intake, as_role):
    client, _ = pg_intake
    body = {"reference": "JC-PG-1", "kind": "prominent_problem", "description": "群众反映突出问题",
            "address": "凤台东街", "details": {"title": "夜间施工扬尘"}}
    city = as_role("city_platform")
    first = client.post(f"{API}/city-instructions", json=body, headers=city)
    again = client.post(f"{API}/city-instructions", json=body, headers=city)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["incident_id"] == again.get_json()["incident_id"]


def test_the_duplicate_lookup_reads_the_cells_from_the_nearby_index(pg_intake):
    from incidents import domain, intake
    from incidents.models import reports
    _, database = pg_intake
    rng, now = random.Random(5), utcnow()
    rows = []
    for i in range(5000):  # a district's busy season: most reports in the window, most of them duplicates
        lon, lat = round(112.8 + rng.random() * 0.1, 7), round(35.4 + rng.random() * 0.1, 7)
        rows.append(dict(
            incident_id=f"R{i:08d}", tracking_code=f"T{i:012d}", channel="public_web",
            category=rng.choice(("catering_fumes", "catering_fumes", "open_burning")), description="x",
            severity="normal", major=False, observed_at=now, reported_at=now - timedelta(hours=rng.random() * 100),
            lon=lon, lat=lat, category_verified=True, needs_operator=False, handled_on_spot=False,
            status="received", updated_at=now, cell=domain.cell_of(lon, lat),
            duplicate_of="R00000000" if i and rng.random() < 0.8 else None))
    with database.transaction() as session:
        session.execute(insert(reports), rows[:1])
        session.execute(insert(reports), rows[1:])
        session.execute(text("ANALYZE reports"))
    x0, y0, x1, y1 = domain.box_around(112.85, 35.45, 200)
    query = intake._CANDIDATES_BY_CELL.params(category="catering_fumes", since=now - timedelta(hours=72),
                                              x0=x0, x1=x1, y0=y0, y1=y1, cells=domain.cells_covering(x0, y0, x1, y1))
    sql = str(query.compile(dialect=database.engine.dialect, compile_kwargs={"literal_binds": True}))
    with database.engine.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + sql).scalars())
    index_condition = plan.split("Index Cond:", 1)[-1].split("\n")[0]
    assert "ix_reports_nearby" in plan and "cell = ANY" in index_condition, plan


def test_the_migration_fills_the_cells_of_existing_reports_as_intake_computes_them(pg_url, tmp_path):
    from incidents import domain
    from incidents.bootstrap import SPEC
    from incidents.models import reports
    settings = load_settings("incidents", {"DATABASE_URL": pg_url, "ENVGRID_DATA_DIR": str(tmp_path)})
    command.upgrade(alembic_config(SPEC, settings), "incidents_0001")
    rng, now = random.Random(11), utcnow()
    points = [(112.85, 35.45), (-0.0001, -33.4567), (22571 / 200, 7089 / 200), (-180.0, -90.0), (180.0, 90.0),
              (None, None)] + [(round(rng.uniform(-180, 180), 7), round(rng.uniform(-90, 90), 7))
                               for _ in range(500)]
    points += [(round(round(lon * 200) / 200, 7), lat) for lon, lat in points[6:100]]  # on column borders
    database = Database(pg_url)
    with database.transaction() as session:
        session.execute(insert(reports), [dict(
            incident_id=f"R20261128{i:06d}", tracking_code=f"T{i:012d}", channel="public_web",
            category="catering_fumes", description="x", severity="normal", major=False, observed_at=now,
            reported_at=now, lon=lon, lat=lat, category_verified=True, needs_operator=False,
            handled_on_spot=False, status="received", updated_at=now) for i, (lon, lat) in enumerate(points)])
    upgrade(SPEC, settings)
    with database.transaction() as session:
        rows = session.execute(select(reports.c.lon, reports.c.lat, reports.c.cell)).all()
    database.dispose()
    assert len(rows) == len(points)
    assert [r for r in rows if r.cell != domain.cell_of(r.lon, r.lat)] == []
