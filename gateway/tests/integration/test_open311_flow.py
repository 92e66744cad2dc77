"""Open311 through the real gateway and services: a public report filed by an Open311 POST is followed
by Open311 GETs until the district closes its case, and the reporter reads the district's answer."""
import json
import os
import subprocess
import sys
from xml.etree import ElementTree as ET

import pytest
import requests

from gateway.keys import key_digest
from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET
from servicekit.testing import wait_until

pytestmark = pytest.mark.integration

# A place in grid 140502001001001 (level 4) of the district below.
POINT = (112.812, 35.42)


def cli(service, env, *args):
    exe = os.path.join(os.path.dirname(sys.executable), f"envgrid-{service}")
    result = subprocess.run([exe, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def box(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def district() -> dict:
    """A 0.1° square district cut in halves, quarters and eighths (as the registry's tests' tiny district)."""
    sides = {"east": "东至测试路", "south": "南至测试街", "west": "西至测试巷", "north": "北至测试河"}

    def unit(code, name, level, parent, kind, geometry):
        return {"type": "Feature", "geometry": geometry, "properties": {
            "code": code, "name": name, "level": level, "parent_code": parent, "kind": kind, "four_sides": sides}}
    features = [unit("140502", "测试区", 1, None, "district", box(112.80, 35.40, 112.90, 35.50))]
    for i, (x0, x1, name) in enumerate([(112.80, 112.85, "西城街道"), (112.85, 112.90, "东城街道")], start=1):
        l2 = f"140502{i:03d}"
        features.append(unit(l2, name, 2, "140502", "subdistrict", box(x0, 35.40, x1, 35.50)))
        for j, (y0, y1, tag) in enumerate([(35.40, 35.45, "南"), (35.45, 35.50, "北")], start=1):
            l3 = f"{l2}{j:03d}"
            features.append(unit(l3, f"{name[:2]}{tag}社区", 3, l2, "community", box(x0, y0, x1, y1)))
            mid = round((x0 + x1) / 2, 6)
            for k, (a, b) in enumerate([(x0, mid), (mid, x1)], start=1):
                features.append(unit(f"{l3}{k:03d}", f"{name[:2]}{tag}社区第{k}网格", 4, l3, "area", box(a, y0, b, y1)))
    return {"type": "FeatureCollection", "features": features}


@pytest.fixture
def system(broker, pg_databases, processes, tmp_path):
    envs = {s: {**broker.env, "DATABASE_URL": pg_databases.create(s), "RELAY_POLL_MS": "50",
                "ENVGRID_DATA_DIR": str(tmp_path / s)} for s in ("grid-registry", "incidents", "dispatch")}
    for service, env in envs.items():
        cli(service, env, "migrate")
    registry = processes.web("grid-registry", envs["grid-registry"], workers=1)
    registry_url = f"http://127.0.0.1:{registry.port}"
    ops = ident.sign(ident.Identity("ops-1", frozenset({"district_ops"})), DEV_IDENTITY_SECRET)
    imported = requests.post(f"{registry_url}/api/v1/registry/imports/grids", json=district(), headers=ops)
    assert imported.status_code == 201, imported.text
    processes.worker("grid-registry", envs["grid-registry"])
    for service in ("incidents", "dispatch"):
        envs[service].update(REGISTRY_URL=registry_url, EVIDENCE_DIR=str(tmp_path / "evidence"))
    webs = {s: processes.web(s, envs[s], workers=1) for s in ("incidents", "dispatch")}
    for service in ("incidents", "dispatch"):
        processes.worker(service, envs[service])
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [
        {"sha256": key_digest("ops-key"), "subject": "督办员", "roles": ["district_ops"]}]}))
    gateway_env = {"DATABASE_URL": pg_databases.create("gateway"), "GATEWAY_API_KEYS_FILE": str(keys),
                   "UPSTREAM_GRID_REGISTRY_URL": registry_url,
                   "UPSTREAM_INCIDENTS_URL": f"http://127.0.0.1:{webs['incidents'].port}",
                   "UPSTREAM_DISPATCH_URL": f"http://127.0.0.1:{webs['dispatch'].port}"}
    cli("gateway", gateway_env, "migrate")
    gateway = processes.web("gateway", gateway_env, workers=1)
    front = f"http://127.0.0.1:{gateway.port}"
    return {"open311": f"{front}/open311/v2", "api": f"{front}/api/v1", "ops": {"X-API-Key": "ops-key"}}


def test_an_open311_report_is_followed_to_closed_after_the_district_closes_it(system):
    open311, api, ops = system["open311"], system["api"], system["ops"]
    discovery = requests.get(f"{open311}/discovery.json")
    assert discovery.status_code == 200, "the gateway serves gateway.open311.open311_blueprint (bootstrap.py)"
    assert discovery.json()["endpoints"][0]["url"] == open311
    services = requests.get(f"{open311}/services.json").json()
    assert "catering_fumes" in {s["service_code"] for s in services}
    assert "emergency_order" not in {s["service_code"] for s in services}

    # An Open311 app files a report the way the spec says: form-encoded.
    lon, lat = POINT
    filed = requests.post(f"{open311}/requests.json", data={
        "service_code": "catering_fumes", "lat": str(lat), "long": str(lon), "description": "饭店油烟直排,味道很大",
        "first_name": "娜", "last_name": "李", "phone": "13800000001", "api_key": "an-open311-app-key"})
    assert filed.status_code == 201, filed.text
    [created] = filed.json()
    request_id = created["service_request_id"]
    assert request_id in created["service_notice"]

    [seen] = requests.get(f"{open311}/requests/{request_id}.json").json()
    assert seen["status"] == "open" and seen["service_code"] == "catering_fumes" and seen["status_notes"] is None

    # The district finds the report and its case, and works the case to its end.
    reports = requests.get(f"{api}/incidents/reports", params={"channel": "public_web"}, headers=ops).json()
    [report] = reports["items"]
    staff_view = requests.get(f"{api}/incidents/reports/{report['incident_id']}", headers=ops).json()
    assert staff_view["location"]["lon"] == pytest.approx(lon) and staff_view["reporter_named"] is True

    def case_id():
        return requests.get(f"{api}/incidents/reports/{report['incident_id']}", headers=ops).json().get("case_id")
    case = wait_until(case_id, 30, interval=0.2, message="the report's case")

    def assigned():
        current = requests.get(f"{api}/dispatch/cases/{case}", headers=ops).json()
        return current if current.get("state") == "assigned" else None
    assert wait_until(assigned, 30, interval=0.2, message="the case to be assigned")["grid_code"] == "140502001001001"

    def act(action, **body):
        version = requests.get(f"{api}/dispatch/cases/{case}", headers=ops).json()["version"]
        response = requests.post(f"{api}/dispatch/cases/{case}/actions/{action}", headers=ops,
                                 json={"version": version, **body})
        assert response.status_code == 200, response.text
    act("accept")
    act("handle", note="责令安装油烟净化器", evidence=["ab" * 32])
    act("verify", verified_true=True)
    act("close", public_note="经核查属实,已责令整改,感谢您的监督。")

    # The Open311 app follows the request to its end and reads the district's answer.
    def closed():
        [current] = requests.get(f"{open311}/requests/{request_id}.json").json()
        return current if current["status"] == "closed" else None
    done = wait_until(closed, 30, interval=0.2, message="the Open311 request to be closed")
    assert done["status_notes"] == "经核查属实,已责令整改,感谢您的监督。"
    assert done["updated_datetime"] >= done["requested_datetime"]

    listed = requests.get(f"{open311}/requests.json", params={"service_request_id": f"{request_id},ZZZZ-ZZZZ-ZZZZ"})
    assert [r["service_request_id"] for r in listed.json()] == [request_id]
    as_xml = ET.fromstring(requests.get(f"{open311}/requests/{request_id}.xml").content)
    assert as_xml.findtext("request/status") == "closed"
    everything = requests.get(f"{open311}/requests.json")
    assert everything.status_code == 400 and everything.json()[0]["code"] == 400
