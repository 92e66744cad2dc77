"""The app factory's contract, through Flask's test client on SQLite."""
import pytest
from sqlalchemy import func, select

from servicekit import identity as ident
from servicekit.db import Database
from servicekit.tables import outbox
from servicekit.web import create_app


@pytest.fixture
def app(sample_settings):
    from sampleservice.bootstrap import SPEC
    return create_app(SPEC, sample_settings.with_overrides(max_body_bytes=10_000))


@pytest.fixture
def client(app):
    return app.test_client()


def as_role(settings, *roles):
    return ident.sign(ident.Identity("tester", frozenset(roles)), settings.identity_secret)


def rows(settings, table):
    with Database(settings.database_url).transaction() as session:
        return session.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_valid_job_commits_its_row_and_its_event_together(client, sample_settings):
    from sampleservice.bootstrap import jobs
    response = client.post("/sample/jobs", json={"job_id": "j1", "note": "东街 餐饮油烟"},
                           headers=as_role(sample_settings, "admin"))
    assert response.status_code == 201
    assert rows(sample_settings, jobs) == 1 and rows(sample_settings, outbox) == 1


@pytest.mark.parametrize("kwargs,status,code,field", [
    ({"data": "{not json", "content_type": "application/json"}, 400, "malformed_json", None),
    ({"data": "job_id=j1", "content_type": "application/x-www-form-urlencoded"}, 400, "not_json", None),
    ({"json": {"job_id": "j1", "note": "x", "colour": "red"}}, 422, "validation_failed", "colour"),
    ({"json": {"job_id": 7, "note": "x"}}, 422, "validation_failed", "job_id"),
    ({"json": {"job_id": "j1", "note": "x", "sleep_ms": "5"}}, 422, "validation_failed", "sleep_ms"),
    ({"json": {"note": "x"}}, 422, "validation_failed", "job_id"),
    ({"json": ["j1"]}, 422, "validation_failed", "_schema"),
    ({"json": {"job_id": "j1", "note": "长" * 20_000}}, 413, "payload_too_large", None),
])
def test_bad_input_is_a_json_error_naming_the_reason_and_writes_nothing(client, sample_settings, kwargs,
                                                                        status, code, field):
    from sampleservice.bootstrap import jobs
    response = client.post("/sample/jobs", headers=as_role(sample_settings, "admin"), **kwargs)
    assert response.status_code == status
    body = response.get_json()
    assert body["error"]["code"] == code and body["request_id"]
    if field:
        assert field in body["error"]["fields"]
    assert rows(sample_settings, jobs) == 0 and rows(sample_settings, outbox) == 0


def test_a_duplicate_key_is_a_clean_error_not_a_500(client, sample_settings):
    headers = as_role(sample_settings, "admin")
    assert client.post("/sample/jobs", json={"job_id": "j1", "note": "a"}, headers=headers).status_code == 201
    response = client.post("/sample/jobs", json={"job_id": "j1", "note": "b"}, headers=headers)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"
    assert "Traceback" not in response.get_data(as_text=True)
    assert rows(sample_settings, outbox) == 1


def test_routes_need_a_signed_identity_unless_public(client, sample_settings):
    assert client.post("/sample/jobs", json={"job_id": "j", "note": "x"}).status_code == 401
    forged = {**as_role(sample_settings, "admin"), ident.SIGNATURE_HEADER: "f" * 64}
    response = client.post("/sample/jobs", json={"job_id": "j", "note": "x"}, headers=forged)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_identity"
    assert client.get("/healthz").status_code == 200


def test_a_role_outside_the_route_is_forbidden(client, sample_settings):
    response = client.post("/sample/jobs", json={"job_id": "j", "note": "x"},
                           headers=as_role(sample_settings, "public"))
    assert response.status_code == 403


def test_unknown_routes_and_methods_answer_json(client):
    missing = client.get("/no/such/thing")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = client.delete("/sample/jobs")
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"] and wrong.is_json


def test_request_id_is_kept_when_sane_and_made_when_not(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert made and made != "bad id with spaces"


def test_readyz_reports_an_unreachable_broker_but_stays_ready(client):
    # Events wait in the outbox: a broker outage must not take the web process out of rotation.
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] != "ok"


def test_readyz_is_not_ready_without_its_database(sample_settings, tmp_path):
    from sampleservice.bootstrap import SPEC
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    app = create_app(SPEC, sample_settings.with_overrides(database_url=f"sqlite:///{blocker}/x/y.db"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["database"] != "ok"


def test_metrics_count_requests_by_route_template(client):
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'envgrid_http_requests_total{method="GET",route="/healthz",status="200"}' in text


def test_each_answer_is_counted_once_under_its_status_with_its_duration(client):
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0
    ok = dict(route="/healthz", method="GET", status="200")
    missing = dict(route="unmatched", method="GET", status="404")
    before = (value("envgrid_http_requests_total", **ok), value("envgrid_http_requests_total", **missing),
              value("envgrid_http_request_duration_seconds_count", route="/healthz", method="GET"))
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/route")
    assert value("envgrid_http_requests_total", **ok) == before[0] + 3
    assert value("envgrid_http_requests_total", **missing) == before[1] + 1
    assert value("envgrid_http_request_duration_seconds_count", route="/healthz", method="GET") == before[2] + 3


def test_the_access_line_names_the_request_the_route_template_and_the_caller(client, sample_settings):
    import json
    import logging

    from servicekit.logs import JsonFormatter

    class Lines(logging.Handler):
        """Formats at emit time, as the real handler does: the ids live in context variables."""
        def __init__(self):
            super().__init__()
            self.lines = []
            self.setFormatter(JsonFormatter("sample"))

        def emit(self, record):
            self.lines.append(json.loads(self.format(record)))
    handler, access = Lines(), logging.getLogger("envgrid.access")
    access.addHandler(handler)
    try:
        headers = {**as_role(sample_settings, "admin"), "X-Request-ID": "line-1"}
        assert client.post("/sample/jobs", json={"job_id": "j9", "note": "清扫"}, headers=headers).status_code == 201
        client.get("/no/such/route", headers={"X-Request-ID": "line-2"})
        client.get("/healthz", headers={"X-Request-ID": "line-3"})  # probed every few seconds: no line
    finally:
        access.removeHandler(handler)
    lines = {line["request_id"]: line for line in handler.lines}
    assert set(lines) == {"line-1", "line-2"}
    assert {key: lines["line-1"][key] for key in ("method", "path", "route", "status", "user", "correlation_id")} == {
        "method": "POST", "path": "/sample/jobs", "route": "/sample/jobs", "status": 201, "user": "tester",
        "correlation_id": "line-1"}
    assert (lines["line-2"]["route"], lines["line-2"]["status"], lines["line-2"]["user"]) == ("unmatched", 404, None)
