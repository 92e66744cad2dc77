"""What intake reads per report, on SQLite: duplicates by cell, identifier clashes, the reference copies."""
import json
import random

import pytest
from alembic import command
from sqlalchemy import func, insert, select, update

from servicekit.geo import distance_m
from servicekit.identity import Identity
from servicekit.migrate import alembic_config, upgrade
from servicekit.tables import outbox, utcnow

API = "/api/v1/incidents"
WEB = {"channel": "public_web", "category": "catering_fumes", "description": "小区门口饭店油烟直排,气味很大"}
# A corner shared by four cells, inside the test district.
CORNER = (22570 / 200, 7090 / 200)


def at(lon, lat, **extra):
    return {**WEB, "location": {"lon": lon, "lat": lat}, **extra}


def count(db, table):
    with db.transaction() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


# -- cells -----------------------------------------------------------------------
def test_every_point_of_a_box_lies_in_one_of_the_cells_listed_for_it():
    from incidents import domain
    rng = random.Random(4)
    for _ in range(2000):
        lon, lat = rng.uniform(-179, 179), rng.uniform(-80, 80)
        if rng.random() < 0.5:  # on or next to a cell border
            lon, lat = round(lon * 200) / 200 + rng.choice((0, 1e-9, -1e-9)), round(lat * 200) / 200
        x0, y0, x1, y1 = domain.box_around(lon, lat, rng.choice((50, 200, 500)))
        cells = set(domain.cells_covering(x0, y0, x1, y1))
        for px, py in ((x0, y0), (x1, y1), (x0, y1), (x1, y0), (lon, lat),
                       (rng.uniform(x0, x1), rng.uniform(y0, y1))):
            assert domain.cell_of(px, py) in cells


def test_a_box_over_too_many_cells_is_looked_up_without_them():
    from incidents import domain
    assert len(domain.cells_covering(*domain.box_around(112.85, 35.45, 200))) <= 4
    assert domain.cells_covering(*domain.box_around(112.85, 35.45, 20_000)) is None
    assert domain.cell_of(None, 35.45) is None


# -- duplicates across cell borders ------------------------------------------------
@pytest.mark.parametrize("first,second,linked", [
    ((-0.0003, -0.0003), (0.0003, 0.0003), True),     # diagonally across the corner, ~65 m
    ((-0.0010, 0.0001), (0.0011, 0.0001), True),      # across a border, ~190 m: within the radius
    ((-0.0010, 0.0001), (0.0013, 0.0001), False),     # ~208 m: just beyond it
    ((-0.0009, -0.0008), (0.0010, 0.0008), False),    # inside the lookup box, beyond the circle (~250 m)
], ids=["corner", "190m-across", "208m-across", "box-corner"])
def test_a_report_is_linked_across_cell_borders_within_the_radius_and_not_beyond(
        client, db, as_role, first, second, linked):
    from incidents import domain
    (x, y), public = CORNER, as_role("public")
    a, b = (x + first[0], y + first[1]), (x + second[0], y + second[1])
    assert domain.cell_of(*a) != domain.cell_of(*b)
    one = client.post(f"{API}/reports", json=at(*a), headers=public).get_json()
    two = client.post(f"{API}/reports", json=at(*b), headers=public).get_json()
    assert two["duplicate_of"] == (one["incident_id"] if linked else None)
    assert (distance_m(*a, *b) <= 200) is linked
    assert len(_events(db, "incident.duplicate_linked")) == (1 if linked else 0)


def test_a_radius_wider_than_the_cells_allow_still_finds_duplicates(client, as_role, monkeypatch):
    monkeypatch.setenv("DUPLICATE_RADIUS_M", "20000")
    public = as_role("public")
    one = client.post(f"{API}/reports", json=at(112.81, 35.41), headers=public).get_json()
    two = client.post(f"{API}/reports", json=at(112.89, 35.49), headers=public).get_json()
    assert two["duplicate_of"] == one["incident_id"]


def test_reports_without_a_position_have_no_cell_and_are_never_duplicates(client, db, as_role):
    from incidents.models import reports
    body = {**WEB, "address": "东街街道凤台东街12号"}
    client.post(f"{API}/reports", json=body, headers=as_role("public"))
    second = client.post(f"{API}/reports", json=body, headers=as_role("public")).get_json()
    assert second["duplicate_of"] is None
    with db.transaction() as session:
        assert session.execute(select(reports.c.cell)).scalars().all() == [None, None]


def _events(db, event_type):
    with db.transaction() as session:
        rows = session.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)
                               .order_by(outbox.c.id)).scalars().all()
    return [json.loads(r)["data"] for r in rows]


# -- identifier clashes ------------------------------------------------------------
@pytest.mark.parametrize("clash", ["incident_id", "tracking_code", "both"])
def test_a_clash_of_random_identifiers_is_filed_again_under_new_ones(client, db, as_role, monkeypatch, clash):
    from incidents import domain
    from incidents.models import report_updates, reports
    public = as_role("public")
    first = client.post(f"{API}/reports", json=at(112.85, 35.45), headers=public).get_json()
    new_id, new_code = domain.new_incident_id, domain.new_tracking_code
    ids = iter([first["incident_id"]] if clash in ("incident_id", "both") else [])
    codes = iter([first["tracking_code"]] if clash in ("tracking_code", "both") else [])
    monkeypatch.setattr(domain, "new_incident_id", lambda now: next(ids, None) or new_id(now))
    monkeypatch.setattr(domain, "new_tracking_code", lambda: next(codes, None) or new_code())
    response = client.post(f"{API}/reports", json=at(112.86, 35.46), headers=public)
    second = response.get_json()
    assert response.status_code == 201
    assert second["incident_id"] != first["incident_id"] and second["tracking_code"] != first["tracking_code"]
    assert count(db, reports) == 2 and count(db, report_updates) == 2
    assert [e["incident_id"] for e in _events(db, "incident.reported")] == [first["incident_id"],
                                                                             second["incident_id"]]
    tracked = client.get(f"{API}/track/{second['tracking_code']}", headers=public).get_json()
    assert tracked["status"] == "received" and len(tracked["updates"]) == 1


def test_identifiers_that_keep_clashing_fail_the_report_and_store_nothing(client, db, as_role, monkeypatch):
    from incidents import domain
    from incidents.models import reports
    public = as_role("public")
    first = client.post(f"{API}/reports", json=at(112.85, 35.45), headers=public).get_json()
    monkeypatch.setattr(domain, "new_incident_id", lambda now: first["incident_id"])
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.post(f"{API}/reports", json=at(112.86, 35.46), headers=public).status_code == 500
    assert count(db, reports) == 1 and len(_events(db, "incident.reported")) == 1


def test_a_city_reference_filed_meanwhile_is_answered_not_retried(client, db, as_role):
    from incidents import intake
    air = {"reference": "JC-2026-11-0099", "kind": "prominent_problem", "description": "群众反映突出问题",
           "address": "凤台东街", "details": {"title": "夜间施工扬尘"}}
    assert client.post(f"{API}/city-instructions", json=air, headers=as_role("city_platform")).status_code == 201
    city = {"reference": air["reference"], "kind": air["kind"], "callback_url": None, "details": air["details"]}
    data = {"category": air["kind"], "description": air["description"], "severity": "high", "location": None,
            "address": air["address"], "major": False}
    with pytest.raises(intake.CityReferenceTaken):
        with db.transaction() as session:
            intake._file(session, data, Identity("city", frozenset({"city_platform"})), channel="city_platform",
                         reported_by="city", city=city)
    from incidents.models import reports
    assert count(db, reports) == 1


# -- the reference copies ------------------------------------------------------------
def test_the_category_copy_is_read_again_once_its_time_to_live_has_passed(client, db, as_role, monkeypatch):
    from incidents.models import categories
    body, public = {**at(112.85, 35.45), "category": "night_noise"}, as_role("public")
    assert client.post(f"{API}/reports", json=body, headers=public).status_code == 422
    with db.transaction() as session:
        session.execute(insert(categories).values(code="night_noise", name="夜间噪声", active=True))
    assert client.post(f"{API}/reports", json=body, headers=public).status_code == 422  # the copy read just now
    monkeypatch.setenv("REFERENCE_CACHE_S", "0")
    assert client.post(f"{API}/reports", json=body, headers=public).status_code == 201


def test_a_refresh_in_this_process_is_seen_by_the_next_report(client, db, as_role, monkeypatch):
    from incidents import reference
    from servicekit.db import Database
    public = as_role("public")
    assert client.post(f"{API}/reports", json=at(113.2, 35.45), headers=public).get_json()["outside_district"]
    wider = {"type": "Polygon", "coordinates": [[[112.8, 35.4], [113.3, 35.4], [113.3, 35.5], [112.8, 35.5],
                                                 [112.8, 35.4]]]}
    answers = {"/categories": {"items": [{"code": "catering_fumes", "name": "餐饮油烟", "active": True}]},
               "/grids/140502": {"code": "140502", "boundary": wider}}
    monkeypatch.setattr(reference, "_get", lambda settings, path, params=None: answers[path])
    reference.refresh(None, Database(client.application.extensions["envgrid"].settings.database_url))
    assert client.post(f"{API}/reports", json=at(113.2, 35.45), headers=public).get_json()["outside_district"] is False


def test_an_unchanged_outline_is_not_prepared_again_when_the_copies_are_read_again(client, db, monkeypatch):
    from incidents import reference
    from incidents.models import district_outline
    monkeypatch.setenv("REFERENCE_CACHE_S", "0")
    reference.forget()
    with db.transaction() as session:
        first = reference.snapshot(session).outline
        assert first is not None
        assert reference.snapshot(session).outline is first  # read again, the same prepared geometry
    with db.transaction() as session:
        session.execute(update(district_outline).values(fetched_at=utcnow()))
    with db.transaction() as session:
        assert reference.snapshot(session).outline is not first  # a new copy: parsed and prepared anew


# -- the migration ---------------------------------------------------------------
def test_the_migration_files_existing_reports_under_their_cells(tmp_path):
    from incidents import domain
    from incidents.bootstrap import SPEC
    from incidents.models import reports
    from servicekit.config import load_settings
    from servicekit.db import Database
    settings = load_settings("incidents", {"ENVGRID_DATA_DIR": str(tmp_path / "old")})
    command.upgrade(alembic_config(SPEC, settings), "incidents_0001")
    rng, now = random.Random(9), utcnow()
    points = [(112.85, 35.45), (-0.0001, -33.4567), (22571 / 200, 7089 / 200), (None, None)] + [
        (round(rng.uniform(-180, 180), 7), round(rng.uniform(-90, 90), 7)) for _ in range(200)]
    database = Database(settings.database_url)
    with database.transaction() as session:
        for i, (lon, lat) in enumerate(points):
            session.execute(insert(reports).values(
                incident_id=f"R20261128{i:06d}", tracking_code=f"T{i:012d}", channel="public_web",
                category="catering_fumes", description="x", severity="normal", major=False, observed_at=now,
                reported_at=now, lon=lon, lat=lat, category_verified=True, needs_operator=False,
                handled_on_spot=False, status="received", updated_at=now))
    upgrade(SPEC, settings)
    with database.transaction() as session:
        rows = session.execute(select(reports.c.lon, reports.c.lat, reports.c.cell)).all()
    database.dispose()
    assert len(rows) == len(points)
    assert all(row.cell == domain.cell_of(row.lon, row.lat) for row in rows)
    assert [r.lon for r in rows if r.cell is None] == [None]
