"""The access layer on its own, around bare WSGI apps (no Flask): what a service's WSGI front gets."""
import pytest

from servicekit import accesslog
from servicekit.accesslog import AccessLog, request_path


def call(app, path="/x", **environ):
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path, **environ}, start_response))
    return seen, body


@pytest.fixture
def finished(monkeypatch):
    calls = []
    monkeypatch.setattr(AccessLog, "_finish", staticmethod(lambda environ, status, elapsed: calls.append(
        (environ.get(accesslog.ROUTE), status, environ.get(accesslog.USER)))))
    return calls


def test_a_chinese_path_is_logged_as_the_client_wrote_it():
    # Servers hand PATH_INFO over as latin-1 text of the raw bytes (PEP 3333).
    assert request_path({"PATH_INFO": "/api/v1/registry/grids/城区".encode().decode("latin-1")}) == \
        "/api/v1/registry/grids/城区"
    assert request_path({"PATH_INFO": "/plain"}) == "/plain"


def test_the_app_inside_names_the_route_and_the_caller_and_gets_the_request_id(finished):
    def app(environ, start_response):
        environ[accesslog.ROUTE], environ[accesslog.USER] = "/x/<id>", "staff-1"
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [environ[accesslog.REQUEST_ID].encode()]
    seen, body = call(AccessLog(app), HTTP_X_REQUEST_ID="given-1")
    assert body == b"given-1" and ("X-Request-ID", "given-1") in seen["headers"]
    assert finished == [("/x/<id>", 201, "staff-1")]
    _, made = call(AccessLog(app), HTTP_X_REQUEST_ID="not a sane id")
    assert len(made) == 32 and made != b"not a sane id"


def test_an_app_that_raises_is_counted_as_a_500_and_the_error_goes_on(finished):
    def app(environ, start_response):
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        call(AccessLog(app))
    assert finished == [(None, 500, None)]
