"""A city instruction is closed and the closure report reaches the city's callback, signed, once."""
import json
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from dispatch.timers import deliver_callbacks, sign_callback

API = "/api/v1/dispatch"


@pytest.fixture
def city_server():
    """The city's callback endpoint: fails the first `fail_first` deliveries with 503, then acknowledges."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        fail_first = 1

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers, body))  # case-insensitive lookups
            status = 503 if len(received) <= Handler.fail_first else 200
            self.send_response(status)
            self.end_headers()

        def log_message(self, *_):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/callback", received
    server.shutdown()


def test_the_closure_report_is_signed_retried_and_delivered_once(db, report, registry_locate, client, as_role,
                                                                  dispatch_settings, city_server, monkeypatch):
    from dispatch.models import callbacks, case_incidents
    url, received = city_server
    monkeypatch.setenv("CITY_CALLBACK_SECRET", "city-shared-secret-123")
    incident_id = report(channel="city_platform", category="air_quality_exceedance", city={
        "reference": "JC-2026-0071", "kind": "air_quality_exceedance", "callback_url": url,
        "details": {"station_id": "JC-FT-01", "pollutant": "PM2.5", "value": 168.0, "limit": 75.0,
                    "measured_at": datetime.now(timezone.utc).isoformat()}})
    with db.transaction() as session:
        case_id = session.execute(select(case_incidents.c.case_id).where(
            case_incidents.c.incident_id == incident_id)).scalar_one()
    ops = as_role("district_ops")
    case = client.get(f"{API}/cases/{case_id}", headers=ops).get_json()
    assert case["level"] == 2  # the level-2 grid around the station responds
    for action, body in [("accept", {}), ("handle", {"note": "周边工地停工洒水"}), ("verify", {"verified_true": True}),
                         ("close", {"public_note": "已处置完毕,PM2.5回落至达标"})]:
        version = client.get(f"{API}/cases/{case_id}", headers=ops).get_json()["version"]
        response = client.post(f"{API}/cases/{case_id}/actions/{action}", headers=ops, json={"version": version, **body})
        assert response.status_code == 200, response.get_json()

    deliver_callbacks(dispatch_settings, db)          # the city answers 503: kept, retried later
    with db.transaction() as session:
        session.execute(callbacks.update().values(next_attempt_at=datetime.now(timezone.utc)))
    deliver_callbacks(dispatch_settings, db)          # acknowledged
    deliver_callbacks(dispatch_settings, db)          # nothing left to send
    assert len(received) == 2
    headers, body = received[-1]
    assert headers["X-EnvGrid-Signature"] == sign_callback(body, "city-shared-secret-123")
    payload = json.loads(body)
    assert payload["reference"] == "JC-2026-0071" and payload["status"] == "closed"
    assert payload["result"] == "已处置完毕,PM2.5回落至达标"
    with db.transaction() as session:
        row = session.execute(select(callbacks)).one()
    assert row.delivered_at is not None and [a["status"] for a in row.log] == [503, 200]
