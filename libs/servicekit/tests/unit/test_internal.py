"""servicekit.internal.get_json and post_json: calls to a peer over one kept-alive connection, failures as OSError."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from servicekit import identity
from servicekit.config import load_settings


@pytest.fixture
def peer():
    """An HTTP/1.1 server that keeps connections open, counting them and the requests on them."""
    seen = {"connections": 0, "requests": [], "status": 200, "close_after": None}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            seen["connections"] += 1

        def do_GET(self):  # noqa: N802
            seen["requests"].append((self.path, dict(self.headers)))
            # Decided before answering: once the client has the answer, the test may change close_after.
            drop = seen["close_after"] is not None and len(seen["requests"]) >= seen["close_after"]
            self.answer({"path": self.path})
            if drop:
                self.close_connection = True  # the peer drops the kept-alive connection, without saying so

        def do_POST(self):  # noqa: N802
            sent = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen["requests"].append((self.path, dict(self.headers), sent))
            self.answer({"path": self.path, "got": sent})

        def answer(self, payload):
            body = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(seen["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(tmp_path):
    return load_settings("dispatch", {"ENVGRID_DATA_DIR": str(tmp_path)})


@pytest.fixture(autouse=True)
def fresh_connections(monkeypatch):
    from servicekit import internal
    from servicekit.connections import Connections
    monkeypatch.setattr(internal, "_connections", Connections())
    yield
    internal._connections.close()


def test_calls_share_one_connection_and_are_signed_as_dispatch(peer, settings):
    from servicekit.internal import get_json
    base, seen = peer
    answers = [get_json(settings, base, "/api/v1/registry/locate", {"lon": 112.85, "lat": i}) for i in range(5)]
    assert answers[2] == {"path": "/api/v1/registry/locate?lon=112.85&lat=2"}
    assert seen["connections"] == 1 and len(seen["requests"]) == 5
    caller = identity.verify(seen["requests"][0][1], settings.identity_secret)
    assert caller.subject == "service:dispatch"


def test_a_call_on_behalf_of_a_person_is_signed_as_that_person(peer, settings):
    from servicekit.internal import get_json
    base, seen = peer
    person = identity.Identity("staff-7", frozenset({"grid_staff"}), grids=("G01",), name="王芳")
    get_json(settings, base, "/mine", as_identity=person)
    assert identity.verify(seen["requests"][0][1], settings.identity_secret) == person


def test_a_connection_the_peer_closed_meanwhile_is_replaced_without_failing(peer, settings):
    from servicekit.internal import get_json
    base, seen = peer
    seen["close_after"] = 1
    assert get_json(settings, base, "/one") == {"path": "/one"}
    seen["close_after"] = None
    assert get_json(settings, base, "/two") == {"path": "/two"}
    assert seen["connections"] == 2


def test_an_error_answer_or_no_peer_is_an_oserror(peer, settings):
    from servicekit.internal import get_json
    from servicekit.testing import refused_port
    base, seen = peer
    seen["status"] = 503
    with pytest.raises(OSError, match="503"):
        get_json(settings, base, "/down")
    with pytest.raises(OSError):
        get_json(settings, f"http://127.0.0.1:{refused_port()}", "/nobody", timeout=1)


def test_a_post_goes_on_the_same_kept_alive_connection_and_a_refusal_carries_its_status(peer, settings):
    from servicekit.internal import PeerError, get_json, post_json
    base, seen = peer
    person = identity.Identity("clerk-1", frozenset({"rewards_office"}))
    get_json(settings, base, "/before")
    answer = post_json(settings, base, "/reports/R1/reporter", {"name": "赵六"}, as_identity=person)
    assert answer == {"path": "/reports/R1/reporter", "got": {"name": "赵六"}}
    assert seen["connections"] == 1
    path, headers, _ = seen["requests"][1]
    assert headers["Content-Type"] == "application/json"
    assert identity.verify(headers, settings.identity_secret) == person
    seen["status"] = 409
    with pytest.raises(PeerError) as refused:
        post_json(settings, base, "/reports/R1/reporter", {"name": "赵六"})
    assert refused.value.status == 409 and isinstance(refused.value, OSError)
    assert len(seen["requests"]) == 3  # refused once, not sent again
