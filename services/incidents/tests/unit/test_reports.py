"""Reports through every channel, on SQLite."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from servicekit.geo import wgs84_to_gcj02
from servicekit.tables import outbox

API = "/api/v1/incidents"
WEB = {"channel": "public_web", "category": "catering_fumes", "description": "小区门口饭店油烟直排,气味很大",
       "location": {"lon": 112.85, "lat": 35.45}}


def events(db, event_type):
    with db.transaction() as session:
        rows = session.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type)
                               .order_by(outbox.c.id)).scalars().all()
    return [json.loads(r)["data"] for r in rows]


def count(db, table):
    with db.transaction() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def test_an_anonymous_public_report_gets_a_tracking_code_and_an_event(client, db, as_role):
    response = client.post(f"{API}/reports", json=WEB, headers=as_role("public", subject="anonymous"))
    assert response.status_code == 201
    body = response.get_json()
    assert len(body["tracking_code"]) == 14 and body["outside_district"] is False
    tracked = client.get(f"{API}/track/{body['tracking_code'].lower().replace('-', '')}",
                         headers=as_role("public")).get_json()
    assert tracked["status"] == "received" and tracked["category_name"] == "餐饮油烟"
    (event,) = events(db, "incident.reported")
    assert event["incident_id"] == body["incident_id"] and event["reporter_named"] is False
    assert event["reported_by"] is None and event["location"]["lon"] == 112.85


def test_a_named_reporter_is_sealed_absent_from_events_and_shown_to_the_reward_office_only(
        client, db, as_role):
    from incidents.models import reporter_access_log, reports
    named = {**WEB, "reporter": {"name": "王小明", "phone": "13900001111"}}
    incident_id = client.post(f"{API}/reports", json=named, headers=as_role("public")).get_json()["incident_id"]
    with db.transaction() as session:
        row = session.execute(select(reports).where(reports.c.incident_id == incident_id)).one()
    stored = b"".join(bytes(v) for v in (row.reporter_name_sealed, row.reporter_phone_sealed))
    assert "王小明".encode() not in stored and b"13900001111" not in stored
    payloads = json.dumps(events(db, "incident.reported"), ensure_ascii=False)
    assert "王小明" not in payloads and "13900001111" not in payloads
    assert "王小明" not in json.dumps(client.get(f"{API}/reports/{incident_id}",
                                               headers=as_role("district_ops")).get_json(), ensure_ascii=False)
    url = f"{API}/reports/{incident_id}/reporter?purpose=核发举报奖励"
    assert client.get(url, headers=as_role("district_ops")).status_code == 403
    shown = client.get(url, headers=as_role("rewards_office", subject="reward-clerk")).get_json()
    assert (shown["name"], shown["phone"]) == ("王小明", "13900001111")
    with db.transaction() as session:
        (log,) = session.execute(select(reporter_access_log)).all()
    assert (log.viewer, log.purpose, log.incident_id) == ("reward-clerk", "核发举报奖励", incident_id)


@pytest.mark.parametrize("channel,roles,status", [
    ("public_hotline", ("public",), 403), ("public_hotline", ("district_ops",), 201),
    ("public_mailbox", ("district_ops",), 201), ("inspection", ("district_ops",), 201),
    ("inspection", ("public",), 403), ("patrol", ("district_ops",), 403),
])
def test_each_channel_is_open_to_its_roles(client, as_role, channel, roles, status):
    response = client.post(f"{API}/reports", json={**WEB, "channel": channel}, headers=as_role(*roles, subject="op-7"))
    assert response.status_code == status


def test_an_operator_typing_a_hotline_call_is_recorded(client, db, as_role):
    client.post(f"{API}/reports", json={**WEB, "channel": "public_hotline"}, headers=as_role("district_ops", subject="op-7"))
    (event,) = events(db, "incident.reported")
    assert event["channel"] == "public_hotline" and event["reported_by"] == "op-7"


def test_patrol_reports_stay_inside_the_staff_members_grids(client, as_role):
    staff = as_role("grid_staff", grids=["140502001001"], subject="staff-1")
    patrol = {**WEB, "channel": "patrol", "handled_on_spot": True}
    assert client.post(f"{API}/reports", json={**patrol, "grid_hint": "140502001001002"}, headers=staff).status_code == 201
    assert client.post(f"{API}/reports", json={**patrol, "grid_hint": "140502002001"}, headers=staff).status_code == 403
    missing = client.post(f"{API}/reports", json=patrol, headers=staff)
    assert missing.status_code == 422 and "grid_hint" in missing.get_json()["error"]["fields"]


@pytest.mark.parametrize("change,field", [
    ({"category": "karaoke_noise"}, "category"),
    ({"location": None, "address": None}, "location"),
    ({"location": {"lon": 212.0, "lat": 35.4}}, "location"),
    ({"location": {"lon": 112.8, "lat": 35.4, "datum": "bd09"}}, "location"),
    ({"description": "长" * 2001}, "description"),
    ({"channel": "wechat"}, "channel"),
    ({"handled_on_spot": True}, "handled_on_spot"),
    ({"observed_at": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()}, "observed_at"),
    ({"reporter": {"name": "张三", "phone": "110"}}, "reporter"),
    ({"evidence": ["0" * 64]}, "evidence"),
    ({"mood": "angry"}, "mood"),
])
def test_bad_input_is_refused_with_the_field_and_nothing_is_stored(client, db, as_role, change, field):
    from incidents.models import reports
    response = client.post(f"{API}/reports", json={**WEB, **change}, headers=as_role("public"))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert count(db, reports) == 0 and count(db, outbox) == 0


def test_an_address_alone_is_enough(client, as_role):
    body = {**WEB, "location": None, "address": "东街街道凤台东街12号"}
    response = client.post(f"{API}/reports", json=body, headers=as_role("public"))
    assert response.status_code == 201 and response.get_json()["outside_district"] is None


def test_a_position_outside_the_district_is_accepted_and_flagged(client, db, as_role):
    response = client.post(f"{API}/reports", json={**WEB, "location": {"lon": 113.2, "lat": 35.45}},
                           headers=as_role("public"))
    body = response.get_json()
    assert response.status_code == 201 and body["outside_district"] is True and body["needs_operator"] is True
    flagged = client.get(f"{API}/reports?needs_operator=true", headers=as_role("district_ops")).get_json()
    assert [r["incident_id"] for r in flagged["items"]] == [body["incident_id"]]


def test_without_the_registry_copy_reports_are_still_accepted_for_an_operator_to_check(client, db, as_role):
    from incidents.models import categories
    with db.transaction() as session:
        session.execute(categories.delete())
    response = client.post(f"{API}/reports", json={**WEB, "category": "anything_new"}, headers=as_role("public"))
    assert response.status_code == 201 and response.get_json()["needs_operator"] is True


def test_gcj02_positions_are_stored_in_wgs84(client, db, as_role):
    lon, lat = wgs84_to_gcj02(112.85, 35.45)
    client.post(f"{API}/reports", json={**WEB, "location": {"lon": lon, "lat": lat, "datum": "gcj02"}},
                headers=as_role("public"))
    (event,) = events(db, "incident.reported")
    assert abs(event["location"]["lon"] - 112.85) < 1e-6 and event["location"]["datum_received"] == "gcj02"


def test_reports_near_an_open_one_link_to_the_first_reporter(client, db, as_role):
    public = as_role("public")
    first = client.post(f"{API}/reports", json=WEB, headers=public).get_json()["incident_id"]
    near = {**WEB, "location": {"lon": 112.8505, "lat": 35.4503}}  # about 55 m away
    second = client.post(f"{API}/reports", json=near, headers=public).get_json()
    third = client.post(f"{API}/reports", json=near, headers=public).get_json()
    other_kind = client.post(f"{API}/reports", json={**near, "category": "open_burning"}, headers=public).get_json()
    far = client.post(f"{API}/reports", json={**WEB, "location": {"lon": 112.86, "lat": 35.45}}, headers=public).get_json()
    assert second["duplicate_of"] == first and third["duplicate_of"] == first
    assert other_kind["duplicate_of"] is None and far["duplicate_of"] is None
    linked = events(db, "incident.duplicate_linked")
    assert [e["duplicate_of"] for e in linked] == [first, first] and 40 < linked[0]["distance_m"] < 70


def test_a_retried_report_with_an_idempotency_key_is_filed_once(client, db, as_role):
    from incidents.models import reports
    headers = {**as_role("public"), "Idempotency-Key": "app-7d1c2e"}
    first = client.post(f"{API}/reports", json=WEB, headers=headers).get_json()
    again = client.post(f"{API}/reports", json=WEB, headers=headers).get_json()
    assert first == again and count(db, reports) == 1
