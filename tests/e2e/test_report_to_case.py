"""The whole path through real processes: a public report climbs the grid by SLA breaches alone and is
referred; the reporter follows it to its answer; a city instruction is closed and the city is told, once."""
import json
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
import shapely
from shapely.geometry import shape

from gateway.keys import key_digest
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration


def cli(service, env, *args):
    exe = os.path.join(os.path.dirname(sys.executable), f"envgrid-{service}")
    result = subprocess.run([exe, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def city_endpoint():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append((self.headers, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/closure", received
    server.shutdown()


def level4_point(base, polygon):
    """A point of the grid that no level-5 unit claims, so the case starts at level 4."""
    x0, y0, x1, y1 = polygon.bounds
    for i in range(1, 10):
        for j in range(1, 10):
            candidate = shapely.Point(x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * j / 10)
            if polygon.contains(candidate):
                found = requests.get(f"{base}/registry/locate", params={"lon": candidate.x, "lat": candidate.y}).json()
                if found["grid"]["level"] == 4:
                    return candidate
    raise AssertionError("no free point found in the grid")


@pytest.fixture
def system(broker, pg_databases, processes, tmp_path):
    envs = {s: {**broker.env, "DATABASE_URL": pg_databases.create(s), "RELAY_POLL_MS": "50"}
            for s in ("grid-registry", "incidents", "dispatch", "rewards", "gateway")}
    for service, env in envs.items():
        cli(service, env, "migrate")
    cli("grid-registry", envs["grid-registry"], "load-demo")
    registry = processes.web("grid-registry", envs["grid-registry"], workers=1)
    processes.worker("grid-registry", envs["grid-registry"])
    registry_url = f"http://127.0.0.1:{registry.port}"
    policy = tmp_path / "sla.json"
    # Version 2: two seconds per level, so breaches alone move a case up within the test.
    policy.write_text(json.dumps([{"version": 2, "rules": [{"hours": 0.0006, "warn_at": [0.5]},
                                                           {"level": 1, "hours": 0.0006, "breach": "flag"}]}]))
    for service in ("incidents", "dispatch"):
        envs[service].update(REGISTRY_URL=registry_url, SLA_POLICY_FILE=str(policy), SLA_SWEEP_S="0.5",
                             CITY_CALLBACK_SECRET="shared-with-the-city-0001", EVIDENCE_DIR=str(tmp_path / "ev"))
    envs["rewards"].update(INCIDENTS_URL="http://127.0.0.1:0")  # set below, once incidents listens
    webs = {s: processes.web(s, envs[s], workers=1) for s in ("incidents", "dispatch")}
    envs["rewards"]["INCIDENTS_URL"] = f"http://127.0.0.1:{webs['incidents'].port}"
    webs["rewards"] = processes.web("rewards", envs["rewards"], workers=1)
    for service in ("incidents", "dispatch", "rewards"):
        processes.worker(service, envs[service])
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [
        {"sha256": key_digest("ops-key"), "subject": "督办员", "roles": ["district_ops"]},
        {"sha256": key_digest("city-key"), "subject": "city-platform", "roles": ["city_platform"]},
        {"sha256": key_digest("clerk-key"), "subject": "奖励办-经办", "roles": ["rewards_office"]},
        {"sha256": key_digest("head-key"), "subject": "奖励办-负责人", "roles": ["rewards_office"]}]}))
    gateway = processes.web("gateway", {**envs["gateway"], "GATEWAY_API_KEYS_FILE": str(keys),
                                        "UPSTREAM_GRID_REGISTRY_URL": registry_url,
                                        "UPSTREAM_INCIDENTS_URL": f"http://127.0.0.1:{webs['incidents'].port}",
                                        "UPSTREAM_DISPATCH_URL": f"http://127.0.0.1:{webs['dispatch'].port}",
                                        "UPSTREAM_REWARDS_URL": f"http://127.0.0.1:{webs['rewards'].port}"},
                            workers=1)
    base = f"http://127.0.0.1:{gateway.port}/api/v1"
    # A point inside some level-4 grid of the demo district.
    grid = requests.get(f"{base}/registry/grids", params={"level": 4, "limit": 1}).json()["items"][0]
    boundary = requests.get(f"{base}/registry/grids/{grid['code']}", params={"boundary": "1"}).json()["boundary"]
    point = level4_point(base, shape(boundary))
    # Intake and dispatch copy the categories when their workers start: wait for both.
    wait_until(lambda: requests.post(f"{base}/incidents/reports", headers={"Idempotency-Key": "probe-1"}, json={
        "channel": "public_web", "category": "catering_fumes", "description": "探测", "address": "x"}
        ).json().get("needs_operator") is False, 30, message="intake's category copy")
    return {"base": base, "grid": grid, "point": (point.x, point.y), "ops": {"X-API-Key": "ops-key"},
            "city": {"X-API-Key": "city-key"}, "clerk": {"X-API-Key": "clerk-key"}, "head": {"X-API-Key": "head-key"}}


def case_for(base, ops, incident_id):
    def found():
        report = requests.get(f"{base}/incidents/reports/{incident_id}", headers=ops).json()
        return report.get("case_id")
    # Dispatch may first work through the demo district's grid events (its queue exists since deploy).
    return wait_until(found, 180, message="the case of the report")


def test_a_public_report_climbs_to_the_district_by_breaches_alone_and_the_reporter_sees_the_answer(system):
    base, ops = system["base"], system["ops"]
    lon, lat = system["point"]
    filed = requests.post(f"{base}/incidents/reports", json={
        "channel": "public_web", "category": "catering_fumes", "description": "饭店油烟直排,多次反映无果",
        "location": {"lon": lon, "lat": lat}, "reporter": {"name": "李娜", "phone": "13800000001"}}).json()
    case_id = case_for(base, ops, filed["incident_id"])
    case = requests.get(f"{base}/dispatch/cases/{case_id}", headers=ops).json()
    assert case["grid_code"] == system["grid"]["code"] and case["policy_version"] == 2

    def at_district():
        current = requests.get(f"{base}/dispatch/cases/{case_id}", headers=ops).json()
        return current if current["level"] == 1 and current["flagged"] else None
    case = wait_until(at_district, 60, interval=0.5, message="the case to climb to the district")
    assert case["escalations"] == 3
    assert [h["grid_code"][:len(h["grid_code"])] for h in case["history"] if h["action"] == "escalate"] == [
        system["grid"]["code"][:12], system["grid"]["code"][:9], system["grid"]["code"][:6]]

    def act(action, **body):
        version = requests.get(f"{base}/dispatch/cases/{case_id}", headers=ops).json()["version"]
        response = requests.post(f"{base}/dispatch/cases/{case_id}/actions/{action}", headers=ops,
                                 json={"version": version, **body})
        assert response.status_code == 200, response.text
    act("refer", referred_to="department", department_code="urban_management", note="移送城管局查处")
    act("handle", note="城管局责令安装油烟净化器", evidence=["cd" * 32])
    act("verify", verified_true=True)
    act("close", public_note="经核查属实,已责令整改并复查到位,感谢您的监督。")

    def answered():
        page = requests.get(f"{base}/incidents/track/{filed['tracking_code']}").json()
        return page if page["status"] == "closed" else None
    page = wait_until(answered, 30, message="the reporter's answer")
    assert page["answer"].startswith("经核查属实")
    assert requests.get(f"{base}/dispatch/cases/{case_id}/chain", headers=ops).json()["intact"] is True

    # The reward office: the report was verified true, so its reporter is proposed an award;
    # reviewed by one person, approved by another, paid once; the identity read for the payment.
    clerk, head = system["clerk"], system["head"]
    award = wait_until(lambda: requests.get(f"{base}/rewards/queue/to_review", headers=clerk).json()["items"], 30,
                       message="the proposed award")[0]
    assert award["incident_id"] == filed["incident_id"] and award["amount_fen"] == 50000  # rectification: 500 yuan
    assert requests.put(f"{base}/rewards/budgets/{award['year']}", headers=head,
                        json={"ceiling_fen": 5_000_000}).status_code == 201
    assert requests.post(f"{base}/rewards/awards/{award['award_id']}/review", headers=clerk, json={}).ok
    assert requests.post(f"{base}/rewards/awards/{award['award_id']}/approve", headers=clerk,
                         json={}).status_code == 403  # the two-person rule
    assert requests.post(f"{base}/rewards/awards/{award['award_id']}/approve", headers=head, json={}).ok
    who = requests.get(f"{base}/rewards/awards/{award['award_id']}/reporter", headers=head,
                       params={"purpose": "发放举报奖励"}).json()
    assert (who["name"], who["phone"]) == ("李娜", "13800000001")
    paid = requests.post(f"{base}/rewards/awards/{award['award_id']}/pay",
                         headers={**head, "Idempotency-Key": "e2e-pay-1"},
                         json={"channel": "wechat_pay", "reference": "WX-E2E-0001"})
    assert paid.status_code == 200 and paid.json()["state"] == "paid"
    status = requests.get(f"{base}/rewards/status/{filed['tracking_code']}").json()
    assert status["award"] is True and status["state"] == "paid"


def test_a_city_instruction_is_closed_and_the_signed_callback_arrives_once(system, city_endpoint):
    import hashlib
    import hmac
    base, ops = system["base"], system["ops"]
    url, received = city_endpoint
    lon, lat = system["point"]
    instruction = {"reference": "JC-E2E-0001", "kind": "air_quality_exceedance", "callback_url": url,
                   "description": "站点PM2.5超标", "location": {"lon": lon, "lat": lat},
                   "details": {"station_id": "JC-01", "pollutant": "PM2.5", "value": 150.0, "limit": 75.0,
                               "measured_at": (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()}}
    filed = requests.post(f"{base}/incidents/city-instructions", json=instruction, headers=system["city"])
    assert filed.status_code == 201, filed.text
    case_id = case_for(base, ops, filed.json()["incident_id"])
    case = requests.get(f"{base}/dispatch/cases/{case_id}", headers=ops).json()
    assert case["level"] == 2 and case["grid_code"] == system["grid"]["code"][:9]
    for action, body in [("accept", {}), ("handle", {"note": "工地洒水降尘"}), ("verify", {"verified_true": True}),
                         ("close", {"public_note": "已处置,浓度回落"})]:
        version = requests.get(f"{base}/dispatch/cases/{case_id}", headers=ops).json()["version"]
        assert requests.post(f"{base}/dispatch/cases/{case_id}/actions/{action}", headers=ops,
                             json={"version": version, **body}).status_code == 200
    wait_until(lambda: received, 30, message="the callback")
    import time
    time.sleep(2)  # several delivery sweeps pass: none may send it again
    assert len(received) == 1
    headers, body = received[0]
    expected = "sha256=" + hmac.new(b"shared-with-the-city-0001", body, hashlib.sha256).hexdigest()
    assert headers["X-EnvGrid-Signature"] == expected
    assert json.loads(body)["reference"] == "JC-E2E-0001"


def test_an_emergency_order_reaches_all_eight_towns_and_they_acknowledge(system):
    base, ops = system["base"], system["ops"]
    now = datetime.now(timezone.utc)
    order = {"reference": "JC-ORDER-E2E", "kind": "emergency_order", "description": "启动重污染天气橙色预警",
             "address": "全区", "details": {"alert_level": "orange", "order_kind": "heavy_pollution",
                                          "window_start": now.isoformat(),
                                          "window_end": (now + timedelta(days=2)).isoformat(),
                                          "measures": ["工地停止土石方作业", "重型柴油车绕行"]}}
    assert requests.post(f"{base}/incidents/city-instructions", json=order, headers=system["city"]).status_code == 201
    issued = wait_until(lambda: requests.get(f"{base}/dispatch/orders", headers=ops).json()["items"], 180,
                        message="the order")[0]
    assert issued["targets"] == 8 and issued["alert_level"] == "orange"
    detail = requests.get(f"{base}/dispatch/orders/{issued['order_id']}", headers=ops).json()
    assert [t["grid_name"] for t in detail["tasks"]] == ["东街街道", "西街街道", "南街街道", "北街街道", "矿区街道",
                                                         "钟家庄街道", "西上庄街道", "北石店镇"]
    first = detail["tasks"][0]["grid_code"]
    answer = requests.post(f"{base}/dispatch/orders/{issued['order_id']}/tasks/{first}/acknowledge", headers=ops,
                           json={"measures": "已通知辖区工地停工"})
    assert answer.status_code == 200 and (answer.json()["acknowledged"], answer.json()["reported"]) == (1, 1)
