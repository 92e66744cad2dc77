"""City-platform instructions, patrol records and the answers dispatch sends back."""
import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from servicekit.consumer import Consumer
from servicekit.events import new_envelope, registry
from servicekit.tables import outbox

API = "/api/v1/incidents"
NOW = datetime.now(timezone.utc)
AIR = {"reference": "JC-2026-11-0071", "kind": "air_quality_exceedance",
       "description": "凤台站PM2.5小时浓度超标,请核查周边污染源", "location": {"lon": 112.86, "lat": 35.48},
       "callback_url": "https://city.example/callbacks/grid", "details": {
           "station_id": "JC-FT-01", "station_name": "凤台站", "pollutant": "PM2.5", "value": 168.0, "limit": 75.0,
           "measured_at": (NOW - timedelta(hours=1)).isoformat()}}


def events(db, event_type):
    with db.transaction() as session:
        rows = session.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)).scalars().all()
    return [json.loads(r)["data"] for r in rows]


def test_a_city_instruction_is_filed_once_per_city_reference(client, db, as_role):
    city = as_role("city_platform", subject="city-platform")
    first = client.post(f"{API}/city-instructions", json=AIR, headers=city)
    again = client.post(f"{API}/city-instructions", json=AIR, headers=city)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["incident_id"] == again.get_json()["incident_id"]
    (event,) = events(db, "incident.reported")
    assert event["channel"] == "city_platform" and event["category"] == "air_quality_exceedance"
    assert event["city"]["reference"] == "JC-2026-11-0071" and event["city"]["details"]["station_id"] == "JC-FT-01"
    assert event["city"]["callback_url"] == "https://city.example/callbacks/grid"


def test_an_emergency_order_is_major(client, db, as_role):
    order = {"reference": "JC-ORDER-9", "kind": "emergency_order", "description": "启动重污染天气橙色预警",
             "details": {"alert_level": "orange", "order_kind": "heavy_pollution",
                         "window_start": NOW.isoformat(), "window_end": (NOW + timedelta(days=2)).isoformat(),
                         "measures": ["工地停止土石方作业", "重型柴油车限行"]}, "address": "全区"}
    assert client.post(f"{API}/city-instructions", json=order, headers=as_role("city_platform")).status_code == 201
    (event,) = events(db, "incident.reported")
    assert event["major"] is True and event["city"]["details"]["alert_level"] == "orange"


def test_bad_city_instructions_are_refused_with_the_reason(client, db, as_role):
    city = as_role("city_platform")
    cases = [
        ({**AIR, "details": {**AIR["details"], "value": 50.0}}, "details"),
        ({**AIR, "location": None}, "location"),
        ({**AIR, "callback_url": "ftp://city/x"}, "callback_url"),
        ({**AIR, "details": {**AIR["details"], "pollutant": "dust"}}, "details"),
        ({**AIR, "reference": "has space"}, "reference"),
    ]
    for body, field in cases:
        response = client.post(f"{API}/city-instructions", json=body, headers=city)
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], field
    assert client.post(f"{API}/city-instructions", json=AIR, headers=as_role("district_ops")).status_code == 403
    assert events(db, "incident.reported") == []


def test_a_patrol_records_its_track_and_turns_problems_into_reports(client, db, as_role):
    staff = as_role("grid_staff", grids=["140502001001001"], subject="staff-9")
    patrol = {"grid_code": "140502001001001", "started_at": (NOW - timedelta(hours=2)).isoformat(),
              "ended_at": (NOW - timedelta(hours=1)).isoformat(),
              "track": [[112.81, 35.41, "08:00"], [112.811, 35.41], [112.811, 35.411]],
              "notes": "例行巡查", "problems": [
                  {"category": "open_burning", "description": "空地焚烧秸秆,已劝导熄灭",
                   "location": {"lon": 112.8105, "lat": 35.4102}, "handled_on_spot": True}]}
    response = client.post(f"{API}/patrols", json=patrol, headers=staff)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert 180 < body["distance_m"] < 215 and len(body["problems"]) == 1
    (recorded,) = events(db, "patrol.recorded")
    assert recorded["checkpoints"] == 3 and recorded["problems"] == body["problems"]
    (reported,) = events(db, "incident.reported")
    assert reported["channel"] == "patrol" and reported["handled_on_spot"] is True
    assert reported["grid_hint"] == "140502001001001" and reported["reported_by"] == "staff-9"
    other = as_role("grid_staff", grids=["140502002"])
    assert client.post(f"{API}/patrols", json=patrol, headers=other).status_code == 403
    backwards = {**patrol, "ended_at": patrol["started_at"], "started_at": patrol["ended_at"]}
    assert client.post(f"{API}/patrols", json=backwards, headers=staff).status_code == 422
    listed = client.get(f"{API}/patrols?grid=140502001", headers=staff).get_json()["items"]
    assert [p["patrol_id"] for p in listed] == [body["patrol_id"]]


def test_the_reporter_sees_the_outcome_dispatch_sends(client, db, as_role, incidents_settings):
    from incidents.bootstrap import SPEC
    filed = client.post(f"{API}/reports", json={
        "channel": "public_web", "category": "catering_fumes", "description": "油烟扰民",
        "location": {"lon": 112.85, "lat": 35.45}}, headers=as_role("public")).get_json()
    consumer = Consumer(incidents_settings, db, registry, SPEC.handlers)

    def case_event(kind, state, note=None):
        envelope = new_envelope(kind, {"case_id": "C1", "incident_ids": [filed["incident_id"]], "state": state,
                                       "grid_code": "140502001001001", "at": NOW.isoformat(),
                                       "public_note": note}, "dispatch")
        return consumer.process(envelope.to_json().encode(), attempt=1)[0].action

    assert case_event("case.assigned", "assigned") == "processed"
    assert case_event("case.closed", "closed", "经核查属实,已责令该饭店安装油烟净化设施并正常使用。") == "processed"
    page = client.get(f"{API}/track/{filed['tracking_code']}", headers=as_role("public")).get_json()
    assert page["status"] == "closed" and page["answer"].startswith("经核查属实")
    assert [u["status"] for u in page["updates"]] == ["received", "processing", "closed"]


def test_a_duplicate_follows_the_case_it_joined_from_the_moment_it_joins(client, db, as_role, incidents_settings):
    from incidents.bootstrap import SPEC
    public = as_role("public")
    report = {"channel": "public_web", "category": "catering_fumes", "description": "油烟扰民",
              "location": {"lon": 112.85, "lat": 35.45}}
    first = client.post(f"{API}/reports", json=report, headers=public).get_json()
    later = client.post(f"{API}/reports", json=report, headers=public).get_json()
    assert later["duplicate_of"] == first["incident_id"]
    envelope = new_envelope("case.report_attached", {
        "case_id": "C1", "incident_ids": [first["incident_id"], later["incident_id"]], "state": "accepted",
        "grid_code": "140502001001001", "at": NOW.isoformat()}, "dispatch")
    consumer = Consumer(incidents_settings, db, registry, SPEC.handlers)
    assert consumer.process(envelope.to_json().encode(), attempt=1)[0].action == "processed"
    page = client.get(f"{API}/track/{later['tracking_code']}", headers=public).get_json()
    assert page["status"] == "processing"
    assert [u["status"] for u in page["updates"]] == ["received", "processing"]
