"""Emergency orders, notifications through their adapters, and the rectification and transfer ledgers."""
import io
import json
import threading
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select

API = "/api/v1/dispatch"
NOW = datetime.now(timezone.utc)
TOWNS = ["东街街道", "西街街道", "南街街道", "北街街道", "矿区街道", "钟家庄街道", "西上庄街道", "北石店镇"]


@pytest.fixture
def eight_towns(db):
    from dispatch.models import grid_view
    with db.transaction() as session:
        session.execute(insert(grid_view), [
            {"code": f"140502{i:03d}", "name": name, "level": 2, "parent_code": "140502", "kind": "subdistrict",
             "status": "active", "version": 1} for i, name in enumerate(TOWNS, start=1) if i != 1])


def order_report(report, **details):
    return report(channel="city_platform", category="emergency_order", major=True,
                  location={"lon": None, "lat": None, "datum_received": None, "address": "全区", "outside_district": None},
                  city={"reference": "JC-ORDER-1", "kind": "emergency_order", "callback_url": None, "details": {
                      "alert_level": "orange", "order_kind": "heavy_pollution", "window_start": NOW.isoformat(),
                      "window_end": (NOW + timedelta(days=2)).isoformat(), "measures": ["工地停止土石方作业"],
                      "targets": [], **details}})


def test_an_emergency_order_reaches_all_eight_towns_and_tracks_who_responded(db, report, registry_locate,
                                                                               eight_towns, client, as_role):
    from dispatch.models import orders
    order_report(report)
    with db.transaction() as session:
        order_id = session.execute(select(orders.c.order_id)).scalar_one()
    ops = as_role("district_ops")
    progress = client.get(f"{API}/orders/{order_id}", headers=ops).get_json()
    assert progress["targets"] == 8 and [t["grid_name"] for t in progress["tasks"]] == TOWNS
    town = as_role("grid_staff", grids=["140502002"], subject="西街值班")
    url = f"{API}/orders/{order_id}/tasks/140502002/acknowledge"
    assert client.post(url, headers=town, json={}).status_code == 200
    assert client.post(url, headers=town, json={}).status_code == 409
    reported = client.post(url, headers=town, json={"measures": "已通知辖区12处工地停工,洒水车加密作业"}).get_json()
    assert (reported["acknowledged"], reported["reported"]) == (1, 1)
    other = as_role("grid_staff", grids=["140502003"])
    assert client.post(url, headers=other, json={}).status_code == 403


def test_while_an_alert_window_is_open_new_cases_run_on_emergency_rules(db, report, registry_locate, eight_towns,
                                                                         client, as_role):
    from dispatch.models import case_incidents, cases
    order_report(report)
    incident = report()
    with db.transaction() as session:
        case_id = session.execute(select(case_incidents.c.case_id).where(
            case_incidents.c.incident_id == incident)).scalar_one()
        row = session.execute(select(cases).where(cases.c.case_id == case_id)).one()
    assert row.emergency is True and row.due_at - row.assigned_at == timedelta(hours=4)


@pytest.mark.parametrize("window", [(-3, -1), (1, 3)], ids=["closed", "not yet open"])
def test_an_alert_window_closed_or_not_yet_open_leaves_new_cases_on_normal_rules(db, report, registry_locate,
                                                                                 eight_towns, window):
    from dispatch.models import case_incidents, cases
    order_incident = order_report(report, window_start=(NOW + timedelta(days=window[0])).isoformat(),
                                  window_end=(NOW + timedelta(days=window[1])).isoformat())
    incident = report()
    with db.transaction() as session:
        emergency = dict(session.execute(select(case_incidents.c.incident_id, cases.c.emergency).join(
            cases, cases.c.case_id == case_incidents.c.case_id)).all())
    assert emergency == {order_incident: True, incident: False}  # the order's own case is an emergency


@pytest.fixture
def robot():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            body = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=test", received
    server.shutdown()


def test_the_grid_leader_is_told_through_the_wechat_work_robot(db, report, registry_locate, robot, monkeypatch,
                                                                dispatch_settings):
    from dispatch import notify
    from dispatch.grid_view import apply_member
    url, received = robot
    monkeypatch.setenv("NOTIFY_ADAPTER", "wechat_work")
    monkeypatch.setenv("NOTIFY_WEBHOOK_URL", url)
    with db.transaction() as session:
        apply_member(session, {"membership_id": 1, "grid_code": "140502001001001", "person_id": "P1", "name": "张伟",
                               "phone": "13912345678", "role": "leader", "leads": True}, removed=False)
    report()
    notify.deliver(dispatch_settings, db)
    notify.deliver(dispatch_settings, db)
    (message,) = received
    assert message["msgtype"] == "text" and message["text"]["mentioned_mobile_list"] == ["13912345678"]
    assert "新案件" in message["text"]["content"]


def test_rectifications_are_followed_up_and_exported_with_transfers(db, report, registry_locate, client, as_role):
    from dispatch.models import case_incidents
    incident = report()
    with db.transaction() as session:
        case_id = session.execute(select(case_incidents.c.case_id).where(
            case_incidents.c.incident_id == incident)).scalar_one()
    ops = as_role("district_ops", subject="督办员")

    def act(action, **body):
        version = client.get(f"{API}/cases/{case_id}", headers=ops).get_json()["version"]
        response = client.post(f"{API}/cases/{case_id}/actions/{action}", headers=ops, json={"version": version, **body})
        assert response.status_code == 200, response.get_json()
    act("refer", referred_to="department", department_code="urban_management", note="移送城管执法")
    act("handle", evidence=["ab" * 32], rectification={
        "what": "安装油烟净化器并保持正常运行", "responsible": "宏达饭店 刘强", "deadline": str(date.today() + timedelta(days=7))})
    (line,) = client.get(f"{API}/rectifications", headers=ops).get_json()["items"]
    assert line["result"] == "ordered"
    done = client.post(f"{API}/rectifications/{line['id']}/follow-ups", headers=ops,
                       json={"result": "done", "note": "复查已安装并运行"})
    assert done.status_code == 201 and done.get_json()["result_name"] == "已整改"
    sheet = load_workbook(io.BytesIO(client.get(f"{API}/rectifications?format=xlsx", headers=ops).get_data())).active
    assert sheet["A1"].value == "案件编号" and sheet["C2"].value == "安装油烟净化器并保持正常运行"
    transfers = client.get(f"{API}/transfers?format=csv", headers=ops).get_data().decode("utf-8-sig").splitlines()
    assert transfers[0].startswith("案件编号,问题类别") and "urban_management" in transfers[1]


def test_the_daily_supervision_digest_goes_once_a_day(db, report, registry_locate, dispatch_settings):
    from dispatch.cases import supervision_digest
    from dispatch.models import notifications
    report()
    report(location={"lon": 112.86, "lat": 35.46, "datum_received": "wgs84", "address": None,
                     "outside_district": False})
    supervision_digest(dispatch_settings, db)
    supervision_digest(dispatch_settings, db)
    with db.transaction() as session:
        digests = session.execute(select(notifications.c.text).where(
            notifications.c.audience == "supervision_office")).scalars().all()
    assert len(digests) == 1 and "140502001001001: 2 件" in digests[0]


def test_counts_and_due_soon_lists_for_the_district(db, report, registry_locate, client, as_role):
    report()
    ops = as_role("district_ops")
    counts = client.get(f"{API}/counts", headers=ops).get_json()
    assert counts["by_state"] == {"assigned": 1} and counts["open_by_category"] == {"catering_fumes": 1}
    soon = client.get(f"{API}/queue?due_within_hours=720", headers=ops).get_json()["items"]
    assert len(soon) == 1 and soon[0]["overdue"] is False
    assert client.get(f"{API}/queue?overdue=true", headers=ops).get_json()["items"] == []
