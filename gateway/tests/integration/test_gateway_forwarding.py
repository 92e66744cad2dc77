"""The gateway in front of a real service, both under gunicorn."""
import json
import os
import subprocess
import sys

import pytest
import requests
from openapi_spec_validator import validate as validate_spec

from gateway.keys import key_digest
from servicekit import identity as ident
from servicekit.config import DEV_IDENTITY_SECRET
from servicekit.testing import refused_port, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def front(stack):
    return stack["url"]


@pytest.fixture
def stack(broker, pg_databases, processes, tmp_path):
    env = {**broker.env, "DATABASE_URL": pg_databases.create("incidents"), "EVIDENCE_DIR": str(tmp_path / "evidence")}
    gateway_env = {"DATABASE_URL": pg_databases.create("gateway")}
    for service, service_env in (("incidents", env), ("gateway", gateway_env)):
        subprocess.run([os.path.join(os.path.dirname(sys.executable), f"envgrid-{service}"), "migrate"],
                       env={**os.environ, **service_env}, check=True, capture_output=True)
    incidents = processes.web("incidents", env, workers=1)
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [
        {"sha256": key_digest("ops-key"), "subject": "ops-1", "roles": ["district_ops"]},
        {"sha256": key_digest("admin-key"), "subject": "admin-1", "roles": ["admin"]}]}))
    gateway = processes.web("gateway", {
        **gateway_env, "GATEWAY_API_KEYS_FILE": str(keys),
        "UPSTREAM_INCIDENTS_URL": f"http://127.0.0.1:{incidents.port}",
        "UPSTREAM_DISPATCH_URL": f"http://127.0.0.1:{refused_port()}"}, workers=1)
    return {"url": f"http://127.0.0.1:{gateway.port}", "gateway": gateway}


def test_an_api_key_caller_reaches_the_service_with_a_signed_identity(front):
    response = requests.post(f"{front}/ops/incidents/probes", json={"note": "经网关"},
                             headers={"X-API-Key": "ops-key", "X-Request-ID": "trace-me-1"})
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == "trace-me-1"
    probe_id = response.json()["probe_id"]
    shown = requests.get(f"{front}/ops/incidents/probes/{probe_id}", headers={"Authorization": "ApiKey ops-key"})
    assert shown.json()["entries"][0]["note"] == "经网关"


def test_the_access_line_names_the_caller_the_services_route_and_the_request_id(stack):
    front, gateway = stack["url"], stack["gateway"]
    response = requests.post(f"{front}/ops/incidents/probes", json={"note": "记一笔"},
                             headers={"X-API-Key": "ops-key", "X-Request-ID": "line-me-1"})
    assert response.status_code == 201, response.text
    # One id in the answer: the gateway's (the service echoes the same one; it is not relayed twice).
    assert response.raw.headers.getlist("X-Request-ID") == ["line-me-1"]
    refused = requests.get(f"{front}/api/v1/incidents/reports/R1", headers={"X-Request-ID": "line-me-2"})
    assert refused.status_code == 401

    def lines():
        found = {}
        for line in gateway.log().splitlines():
            if line.startswith("{") and '"envgrid.access"' in line:
                entry = json.loads(line)
                found[entry.get("request_id")] = entry
        return found if {"line-me-1", "line-me-2"} <= found.keys() else None
    logged = wait_until(lines, 10, message="the gateway's access lines")
    assert {key: logged["line-me-1"][key] for key in ("method", "path", "route", "status", "user")} == {
        "method": "POST", "path": "/ops/incidents/probes", "route": "/ops/incidents/probes", "status": 201,
        "user": "ops-1"}
    assert logged["line-me-1"]["duration_ms"] > 0
    assert {key: logged["line-me-2"][key] for key in ("route", "status", "user")} == {
        "route": "/api/v1/incidents/reports/<incident_id>", "status": 401, "user": "anonymous"}


def test_anonymous_callers_of_a_route_that_needs_credentials_get_401(front):
    response = requests.post(f"{front}/ops/incidents/probes", json={"note": "x"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


def test_a_wrong_key_is_refused_at_the_edge(front):
    response = requests.post(f"{front}/ops/incidents/probes", json={"note": "x"}, headers={"X-API-Key": "guess"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_credentials"


def test_forged_identity_headers_are_refused(front):
    forged = ident.sign(ident.Identity("mallory", frozenset({"admin"})), "not-the-real-secret-at-all")
    response = requests.post(f"{front}/ops/incidents/probes", json={"note": "x"}, headers=forged)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_identity"


def test_identity_headers_sent_by_a_client_never_grant_anything(front):
    """Even a correctly signed pair (say, replayed from inside) is replaced by the caller's own identity."""
    replayed = ident.sign(ident.Identity("mallory", frozenset({"admin"})), DEV_IDENTITY_SECRET)
    response = requests.post(f"{front}/ops/incidents/probes", json={"note": "x"}, headers=replayed)
    assert response.status_code == 401  # taken for the anonymous caller it is, not for an admin


def test_a_service_that_is_down_is_a_fast_json_503(front):
    response = requests.get(f"{front}/ops/dispatch/probes/00000000-0000-0000-0000-000000000000",
                            headers={"X-API-Key": "ops-key"}, timeout=10)
    assert response.status_code == 503 and response.json()["error"]["code"] == "upstream_unavailable"


def test_unknown_paths_are_json_404(front):
    response = requests.get(f"{front}/api/v1/nothing-here/x")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_chunked_request_body_is_forwarded_whole(front):
    """A client that does not say the length (Transfer-Encoding: chunked) still gets its body through."""
    body = json.dumps({"note": "分块上传的备注"}, ensure_ascii=False).encode()
    response = requests.post(f"{front}/ops/incidents/probes", data=iter([body[:7], body[7:]]),
                             headers={"X-API-Key": "ops-key", "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    shown = requests.get(f"{front}/ops/incidents/probes/{response.json()['probe_id']}", headers={"X-API-Key": "ops-key"})
    assert shown.json()["entries"][0]["note"] == "分块上传的备注"


def test_a_long_chunked_body_streams_on_and_one_past_the_limit_is_a_json_413(front):
    """Past 64 KiB a chunked body is not held whole: it goes on chunked, and is cut off at the route's limit."""
    import hashlib
    import io
    from PIL import Image
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 80).convert("RGB").save(buffer, "PNG")
    image = buffer.getvalue()
    boundary = "envgrid-chunked-test"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"现场.png\"\r\n"
                 f"Content-Type: image/png\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()
    assert len(multipart) > 64 * 1024
    uploaded = requests.post(f"{front}/api/v1/incidents/evidence",
                             data=(multipart[i:i + 10_000] for i in range(0, len(multipart), 10_000)),
                             headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["evidence_id"] == hashlib.sha256(image).hexdigest()
    too_long = requests.post(f"{front}/ops/incidents/probes", data=(b"x" * 65536 for _ in range(32)),
                             headers={"X-API-Key": "ops-key", "Content-Type": "application/json"})
    assert too_long.status_code == 413 and too_long.json()["error"]["code"] == "payload_too_large"


def test_a_body_over_the_gateways_limit_is_a_json_413(front):
    response = requests.post(f"{front}/ops/incidents/probes", data=b"x" * (2 * 1024 * 1024),
                             headers={"X-API-Key": "ops-key", "Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def sent_and_abandoned(front, request: bytes) -> bytes:
    """Send `request` raw, stop sending (the caller goes quiet mid-body), and read the answer to its end."""
    import socket
    host, port = front.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_body_shorter_than_its_content_length_is_refused_and_not_forwarded(front):
    answer = sent_and_abandoned(front, b"POST /ops/incidents/probes HTTP/1.1\r\nHost: x\r\nX-API-Key: ops-key\r\n"
                                       b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                                       b"{\"note\": \"short\"}")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"incomplete_body" in answer


def test_uploads_the_caller_abandons_are_400_and_never_open_the_services_circuit(front):
    """The breaker opens after 5 failures of an instance; a caller breaking off its own upload is not one."""
    for _ in range(6):
        answer = sent_and_abandoned(front, b"POST /api/v1/incidents/evidence HTTP/1.1\r\nHost: x\r\n"
                                           b"Content-Type: multipart/form-data; boundary=b\r\n"
                                           b"Content-Length: 300000\r\n\r\n" + b"x" * 100_000)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
        assert b"incomplete_body" in answer
    reachable = requests.get(f"{front}/api/v1/incidents/track/0000-0000-0000")
    assert reachable.status_code == 404 and reachable.json()["error"]["code"] != "upstream_unavailable"


def test_a_large_evidence_upload_streams_through_the_gateway_byte_for_byte(front):
    """Bigger than the gateway's default body limit (1 MiB): the evidence route allows uploads."""
    import hashlib
    import io
    from PIL import Image
    buffer = io.BytesIO()
    Image.effect_noise((2000, 1500), 80).convert("RGB").save(buffer, "PNG")
    content = buffer.getvalue()
    assert len(content) > 2 * 1024 * 1024
    uploaded = requests.post(f"{front}/api/v1/incidents/evidence", files={"file": ("现场.png", content, "image/png")})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["evidence_id"] == hashlib.sha256(content).hexdigest()
    back = requests.get(f"{front}/api/v1/incidents/evidence/{uploaded.json()['evidence_id']}",
                        headers={"X-API-Key": "ops-key"})
    assert back.status_code == 200 and back.content == content


def test_the_merged_document_has_the_gateways_own_routes_with_what_a_client_needs(front):
    answer = requests.get(f"{front}/openapi.json", timeout=30)
    assert answer.status_code == 200
    document = answer.json()
    validate_spec(document)
    assert {"incidents", "gateway"} <= set(document["x-services"])
    paths = document["paths"]
    assert "/api/v1/incidents/reports" in paths  # the services' routes, as before
    credentials = [{"apiKey": []}, {"bearerToken": []}]
    assert paths["/auth/login"]["post"]["security"] == []
    for method in ("get", "post"):
        assert paths["/admin/api-keys"][method]["security"] == credentials
        assert paths["/admin/api-keys"][method]["x-roles"] == ["admin"]
        assert paths["/open311/v2/requests.json"][method]["security"] == []
    assert paths["/status"]["get"]["security"] == []


def test_the_admin_routes_are_for_the_admin_role_as_documented(front):
    assert requests.get(f"{front}/admin/api-keys").status_code == 401
    assert requests.get(f"{front}/admin/api-keys", headers={"X-API-Key": "ops-key"}).status_code == 403
    admin = {"X-API-Key": "admin-key"}
    created = requests.post(f"{front}/admin/api-keys", json={"subject": "督办系统", "roles": ["district_ops"]},
                            headers=admin)
    assert created.status_code == 201, created.text
    key_id, key = created.json()["key_id"], created.json()["key"]
    assert [k["key_id"] for k in requests.get(f"{front}/admin/api-keys", headers=admin).json()["items"]] == [key_id]
    probe = requests.post(f"{front}/ops/incidents/probes", json={"note": "新密钥"}, headers={"X-API-Key": key})
    assert probe.status_code == 201, probe.text
    revoked = requests.delete(f"{front}/admin/api-keys/{key_id}", headers=admin)
    assert revoked.status_code == 200 and revoked.json() == {"key_id": key_id, "revoked": True}
    again = requests.post(f"{front}/ops/incidents/probes", json={"note": "x"}, headers={"X-API-Key": key})
    assert again.status_code == 401
