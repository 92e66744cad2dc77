"""Cases from reports, the lifecycle through the API, the hash chain, SLA breaches up the grid."""
import json
from datetime import timedelta

from sqlalchemy import select, text, update

from servicekit.tables import outbox, utcnow

API = "/api/v1/dispatch"
EVIDENCE = ["ab" * 32]
L4 = "140502001001001"


def case_of(db, incident_id):
    from dispatch.models import case_incidents
    with db.transaction() as session:
        return session.execute(select(case_incidents.c.case_id).where(
            case_incidents.c.incident_id == incident_id)).scalar_one()


def event_types(db):
    with db.transaction() as session:
        return [r for r in session.execute(select(outbox.c.event_type).order_by(outbox.c.id)).scalars()]


def act(client, case_id, action, headers, **body):
    version = client.get(f"{API}/cases/{case_id}", headers=headers).get_json().get("version", 0)
    return client.post(f"{API}/cases/{case_id}/actions/{action}", headers=headers, json={"version": version, **body})


def test_a_public_report_becomes_a_case_at_its_level4_grid_with_a_deadline(db, report, registry_locate, client,
                                                                           as_role):
    case_id = case_of(db, report())
    case = client.get(f"{API}/cases/{case_id}", headers=as_role("district_ops")).get_json()
    assert (case["state"], case["grid_code"], case["level"]) == ("assigned", L4, 4)
    assert [g["name"] for g in case["grid_chain"]] == ["城区", "东街街道", "凤台社区", "凤台社区第1网格"]
    assert case["due_at"] and case["policy_version"] == 1
    assert [h["action"] for h in case["history"]] == ["create", "assign"]
    assert event_types(db) == ["case.created", "case.assigned"]


def test_a_category_the_district_handles_higher_starts_there(db, report, registry_locate, client, as_role):
    case_id = case_of(db, report(category="black_smoke_vehicle"))
    assert client.get(f"{API}/cases/{case_id}", headers=as_role("district_ops")).get_json()["level"] == 2


def test_while_the_registry_is_down_the_case_waits_and_is_assigned_later(db, report, registry_locate,
                                                                          dispatch_settings):
    from dispatch import timers
    from dispatch.models import cases
    registry_locate.down = True
    case_id = case_of(db, report())
    with db.transaction() as session:
        assert session.execute(select(cases.c.state).where(cases.c.case_id == case_id)).scalar_one() == "new"
    timers.retry_locating(dispatch_settings, db)  # still down: nothing happens
    registry_locate.down = False
    timers.retry_locating(dispatch_settings, db)
    with db.transaction() as session:
        assert session.execute(select(cases.c.grid_code).where(cases.c.case_id == case_id)).scalar_one() == L4


def test_the_lifecycle_through_the_api_with_the_right_people(db, report, registry_locate, client, as_role):
    case_id = case_of(db, report())
    staff4 = as_role("grid_staff", grids=[L4], subject="网格长甲")
    staff3 = as_role("grid_staff", grids=["140502001001"], subject="村书记乙")
    ops = as_role("district_ops", subject="督办员丙")
    assert act(client, case_id, "accept", staff4).status_code == 200
    missing = act(client, case_id, "handle", staff4, note="已责令整改")
    assert missing.status_code == 422 and "evidence" in missing.get_json()["error"]["fields"]
    assert act(client, case_id, "handle", staff4, note="已责令安装净化器", evidence=EVIDENCE).status_code == 200
    assert act(client, case_id, "verify", staff4, verified_true=True).status_code == 403  # not one's own work
    assert act(client, case_id, "verify", staff3, verified_true=True).status_code == 200
    closed = act(client, case_id, "close", ops, public_note="经核查属实,已整改到位。")
    assert closed.status_code == 200 and closed.get_json()["state"] == "closed"
    assert closed.get_json()["verified_true"] is True
    chain = client.get(f"{API}/cases/{case_id}/chain", headers=ops).get_json()
    assert chain == {"case_id": case_id, "intact": True, "broken_at_seq": None}
    assert event_types(db)[-4:] == ["case.accepted", "case.handled", "case.verified", "case.closed"]
    with db.transaction() as session:
        payload = session.execute(select(outbox.c.payload).where(outbox.c.event_type == "case.closed")).scalar_one()
    closed_event = json.loads(payload)["data"]
    assert closed_event["public_note"] == "经核查属实,已整改到位。" and closed_event["verified_true"] is True


def test_an_edit_of_the_history_in_the_database_breaks_the_chain(db, report, registry_locate, client, as_role):
    case_id = case_of(db, report())
    ops = as_role("district_ops")
    act(client, case_id, "accept", ops)
    with db.transaction() as session:
        session.execute(text("UPDATE case_history SET note = '改过' WHERE seq = 2"))
    assert client.get(f"{API}/cases/{case_id}/chain", headers=ops).get_json() == {
        "case_id": case_id, "intact": False, "broken_at_seq": 2}


def test_illegal_stale_foreign_and_unknown_requests_change_nothing(db, report, registry_locate, client, as_role):
    case_id = case_of(db, report())
    ops = as_role("district_ops")
    illegal = act(client, case_id, "close", ops)
    assert illegal.status_code == 409 and "accept" in illegal.get_json()["error"]["allowed"]
    stale = client.post(f"{API}/cases/{case_id}/actions/accept", headers=ops, json={"version": 1})
    assert stale.status_code == 409 and stale.get_json()["error"]["current_version"] > 1
    outsider = as_role("grid_staff", grids=["140502002"])
    assert act(client, case_id, "accept", outsider).status_code in (403, 404)
    assert client.get(f"{API}/cases/C0000", headers=ops).status_code == 404
    rejected = act(client, case_id, "reject", ops)
    assert rejected.status_code == 422 and "public_note" in rejected.get_json()["error"]["fields"]
    assert client.get(f"{API}/cases/{case_id}", headers=ops).get_json()["state"] == "assigned"


def _expire_timers(db, case_id):
    from dispatch.models import case_timers
    with db.transaction() as session:
        session.execute(update(case_timers).where(case_timers.c.case_id == case_id, case_timers.c.fired_at.is_(None),
                                                  case_timers.c.cancelled.is_(False))
                        .values(due_at=utcnow() - timedelta(seconds=1)))


def test_breaches_alone_climb_the_case_to_the_district_which_refers_it(db, report, registry_locate, client,
                                                                        as_role, dispatch_settings):
    from dispatch import timers
    case_id = case_of(db, report())
    ops = as_role("district_ops")
    levels = []
    for _ in range(4):
        _expire_timers(db, case_id)
        assert timers.sweep_sla(dispatch_settings, db) == 3  # two warnings and the breach, each once
        assert timers.sweep_sla(dispatch_settings, db) == 0
        levels.append(client.get(f"{API}/cases/{case_id}", headers=ops).get_json()["level"])
    assert levels == [3, 2, 1, 1]
    case = client.get(f"{API}/cases/{case_id}", headers=ops).get_json()
    assert case["escalations"] == 3 and case["flagged"].startswith("SLA breached at level 1")
    referred = act(client, case_id, "refer", ops, referred_to="department", department_code="urban_management")
    assert referred.status_code == 200 and referred.get_json()["state"] == "referred"
    types = event_types(db)
    assert types.count("case.escalated") == 3 and types.count("case.sla_breached") == 4
    assert types[-1] == "case.referred"


def test_an_extension_request_pauses_the_clock_until_granted(db, report, registry_locate, client, as_role):
    case_id = case_of(db, report())
    staff4 = as_role("grid_staff", grids=[L4])
    due = client.get(f"{API}/cases/{case_id}", headers=staff4).get_json()["due_at"]
    assert act(client, case_id, "request_extension", staff4, note="需协调业主", days=2).status_code == 200
    assert act(client, case_id, "grant_extension", staff4, days=2).status_code == 403
    granted = act(client, case_id, "grant_extension", as_role("district_ops"), days=2).get_json()
    assert granted["due_at"] > due and not granted["extension_waiting"]


def test_a_report_settled_on_the_spot_is_recorded_closed(db, report, registry_locate, client, as_role):
    case_id = case_of(db, report(channel="patrol", grid_hint=L4, reported_by="staff-1", handled_on_spot=True,
                                 location={"lon": None, "lat": None, "datum_received": None, "address": None,
                                           "outside_district": None}))
    case = client.get(f"{API}/cases/{case_id}", headers=as_role("district_ops")).get_json()
    assert case["state"] == "closed" and case["grid_code"] == L4
    assert [h["action"] for h in case["history"]] == ["create", "assign", "accept", "handle", "verify", "close"]


def test_a_duplicate_report_joins_the_first_reporters_case(db, report, registry_locate, client, as_role):
    first = report()
    second = report(duplicate_of=first)
    case_id = case_of(db, first)
    assert case_of(db, second) == case_id
    case = client.get(f"{API}/cases/{case_id}", headers=as_role("district_ops")).get_json()
    assert case["incident_ids"] == [first, second] and case["first_incident"] == first


def test_a_duplicate_of_a_report_whose_case_has_ended_opens_a_case_of_its_own(db, report, registry_locate, client,
                                                                              as_role):
    """Intake linked it to a report it still saw open; dispatch had closed that case meanwhile."""
    first = report(channel="patrol", reported_by="staff-1", handled_on_spot=True)  # closed at once
    ended = case_of(db, first)
    ops = as_role("district_ops")
    assert client.get(f"{API}/cases/{ended}", headers=ops).get_json()["state"] == "closed"
    later = report(duplicate_of=first)
    case_id = case_of(db, later)
    assert case_id != ended
    case = client.get(f"{API}/cases/{case_id}", headers=ops).get_json()
    assert case["state"] == "assigned" and case["incident_ids"] == [later] and case["first_incident"] == later
    assert case["history"][0]["details"]["recurs_after_case"] == ended
    assert client.get(f"{API}/cases/{ended}", headers=ops).get_json()["incident_ids"] == [first]


def test_a_report_delivered_again_as_a_new_event_opens_no_second_case(db, report, registry_locate):
    """A replayed or re-sent report (another event id, same incident) is recognised by its incident id."""
    from dispatch.models import cases
    incident_id = report()
    report(incident_id=incident_id)
    with db.transaction() as session:
        assert len(session.execute(select(cases.c.case_id)).all()) == 1


def test_the_first_level_is_data_the_district_edits(db, report, registry_locate, client, as_role):
    ops = as_role("district_ops")
    rules = client.get(f"{API}/assignment-rules", headers=ops).get_json()["items"]
    assert {"channel": "inspection", "category": "*", "level": 3} in rules
    changed = client.put(f"{API}/assignment-rules", headers=ops,
                         json={"channel": "public_web", "category": "catering_fumes", "level": 3})
    assert changed.status_code == 200
    case_id = case_of(db, report())
    assert client.get(f"{API}/cases/{case_id}", headers=ops).get_json()["level"] == 3
    bad = client.put(f"{API}/assignment-rules", headers=ops, json={"channel": "wechat", "category": "*", "level": 3})
    assert bad.status_code == 422
    assert client.put(f"{API}/assignment-rules", headers=as_role("grid_staff", grids=["140502"]),
                      json={"channel": "public_web", "category": "*", "level": 2}).status_code == 403
