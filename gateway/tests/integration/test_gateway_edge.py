"""The gateway's edge through real processes: people's tokens, limits, slow and absent upstreams, CORS."""
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from gateway import credentials
from servicekit.testing import refused_port

pytestmark = pytest.mark.integration


def cli(service, env, *args, stdin=None):
    exe = os.path.join(os.path.dirname(sys.executable), f"envgrid-{service}")
    result = subprocess.run([exe, *args], env={**os.environ, **env}, input=stdin, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


class SlowUpstream(ThreadingHTTPServer):
    """An upstream that takes 5 s to answer anything, counting the requests that reached it."""
    daemon_threads = True
    request_queue_size = 128  # a burst of callers must all get through to it

    def __init__(self):
        super().__init__(("127.0.0.1", 0), self.Handler)
        self.arrived = 0
        self.lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            with self.server.lock:
                self.server.arrived += 1
            time.sleep(5)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_):
            pass


@pytest.fixture
def slow_upstream():
    server = SlowUpstream()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()


@pytest.fixture
def edge(broker, pg_databases, processes, slow_upstream):
    incidents_env = {**broker.env, "DATABASE_URL": pg_databases.create("incidents")}
    cli("incidents", incidents_env, "migrate")
    incidents = processes.web("incidents", incidents_env, workers=1)
    gateway_env = {"DATABASE_URL": pg_databases.create("gateway"), "GATEWAY_RATE_PUBLIC": "5",
                   "GATEWAY_RATE_LOGIN": "3", "GATEWAY_RATE_LOGIN_IP": "8",
                   "CORS_ORIGINS": "https://grid.example.cn", "GATEWAY_TIMEOUT_ASSESSMENT_S": "1",
                   "UPSTREAM_INCIDENTS_URL": f"http://127.0.0.1:{incidents.port}",
                   "UPSTREAM_ASSESSMENT_URL": slow_upstream.url,
                   "UPSTREAM_DISPATCH_URL": f"http://127.0.0.1:{refused_port()}"}
    cli("gateway", gateway_env, "migrate")
    cli("gateway", gateway_env, "accounts", "create", "--username", "ops.li", "--role", "district_ops",
        "--display-name", "李督办", "--password-stdin", stdin="a long enough passphrase\n")
    web = processes.web("gateway", gateway_env, workers=1)
    return f"http://127.0.0.1:{web.port}"


def bearer_of(edge) -> dict:
    tokens = requests.post(f"{edge}/auth/login", json={"username": "ops.li", "password": "a long enough passphrase"})
    assert tokens.status_code == 200, tokens.text
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


def test_a_person_logs_in_and_the_service_sees_who_they_are(edge):
    tokens = requests.post(f"{edge}/auth/login", json={"username": "ops.li", "password": "a long enough passphrase"})
    assert tokens.status_code == 200, tokens.text
    bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    probe = requests.post(f"{edge}/ops/incidents/probes", json={"note": "登录后"}, headers=bearer)
    assert probe.status_code == 201
    wrong = requests.post(f"{edge}/auth/login", json={"username": "ops.li", "password": "nope"})
    assert wrong.status_code == 401
    refreshed = requests.post(f"{edge}/auth/refresh", json={"refresh_token": tokens.json()["refresh_token"]})
    assert refreshed.status_code == 200
    replay = requests.post(f"{edge}/auth/refresh", json={"refresh_token": tokens.json()["refresh_token"]})
    assert replay.status_code == 401
    stolen = requests.post(f"{edge}/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]})
    assert stolen.status_code == 401  # the reuse revoked the whole login
    forged = {"Authorization": "Bearer " + tokens.json()["access_token"][:-4] + "AAAA"}
    assert requests.post(f"{edge}/ops/incidents/probes", json={"note": "x"}, headers=forged).status_code == 401


def test_public_callers_over_the_limit_get_429_with_retry_after(edge):
    statuses = [requests.get(f"{edge}/api/v1/incidents/track/0000-0000-0000").status_code for _ in range(7)]
    assert statuses[:5] == [404] * 5 and statuses[5:] == [429, 429]
    last = requests.get(f"{edge}/api/v1/incidents/track/0000-0000-0000")
    assert last.status_code == 429 and 1 <= int(last.headers["Retry-After"]) <= 60
    assert last.json()["error"]["code"] == "too_many_requests"


def test_password_guessing_is_stopped_per_username_and_per_address(edge):
    def log_in(username, password="a guess"):
        return requests.post(f"{edge}/auth/login", json={"username": username, "password": password})
    assert [log_in("ops.li").status_code for _ in range(3)] == [401] * 3
    stopped = log_in("ops.li", "a long enough passphrase")  # the right password, too late this minute
    assert stopped.status_code == 429 and 1 <= int(stopped.headers["Retry-After"]) <= 60
    assert stopped.json()["error"]["code"] == "too_many_requests"
    # Other usernames from the same address: up to its own limit (8 attempts in all here).
    assert [log_in(f"guess.{n}").status_code for n in range(4)] == [401] * 4
    assert log_in("guess.5").status_code == 429


LOGINS = 6  # each a full password check, all at once


def test_passwords_being_checked_hold_up_no_one_else(edge):
    """A password check is 0.3 s of CPU (PBKDF2): logins must not stop the gateway's other callers."""
    started = time.monotonic()
    hashlib.pbkdf2_hmac("sha256", b"a guess", b"0123456789abcdef", credentials.PBKDF2_ITERATIONS)
    one_check_s = time.monotonic() - started  # on this machine, now
    track = f"{edge}/api/v1/incidents/track/0000-0000-0000"
    assert requests.get(track, timeout=10).status_code == 404  # the first one opens connections and caches
    answered = []

    def log_in(n):
        answer = requests.post(f"{edge}/auth/login", json={"username": f"nobody.{n}", "password": "a guess"},
                               timeout=30)
        answered.append(answer.status_code)

    callers = [threading.Thread(target=log_in, args=(n,)) for n in range(LOGINS)]
    for caller in callers:
        caller.start()
    # The logins are in and their checks under way (they take LOGINS checks' time in all).
    time.sleep(max(0.3, 2 * one_check_s))
    other = requests.get(track, timeout=10)
    assert other.status_code == 404
    # Checked in the event loop, the checks held it up until they were all done (0.5 s or more).
    assert other.elapsed.total_seconds() < one_check_s / 3, (other.elapsed, one_check_s)
    for caller in callers:
        caller.join()
    assert answered == [401] * LOGINS


def test_an_absent_upstream_is_a_fast_503_and_a_slow_one_a_504_at_its_timeout(edge):
    bearer = bearer_of(edge)
    started = time.monotonic()
    down = requests.get(f"{edge}/api/v1/dispatch/counts", headers=bearer, timeout=10)
    assert down.status_code == 503 and time.monotonic() - started < 2
    assert down.json()["error"]["code"] == "upstream_unavailable"
    started = time.monotonic()
    slow = requests.get(f"{edge}/ops/assessment/probes/00000000-0000-0000-0000-000000000000", headers=bearer,
                        timeout=10)
    elapsed = time.monotonic() - started
    assert slow.status_code == 504 and 0.9 < elapsed < 3, elapsed
    assert slow.json()["error"]["code"] == "upstream_timeout"


SLOW_CALLERS = 48  # more than a thread per request could hold (the gthread gateway had 16 a worker)


def test_callers_waiting_on_a_slow_upstream_hold_up_no_one_else(edge, slow_upstream):
    """A service that hangs must not take the gateway down for the others: waiting callers cost
    the gateway (one worker here) a greenlet each, not a thread from a fixed pool."""
    bearer = bearer_of(edge)
    answered = []

    def wait_on_assessment():
        answer = requests.get(f"{edge}/ops/assessment/probes/00000000-0000-0000-0000-000000000000",
                              headers=bearer, timeout=10)
        answered.append(answer.status_code)

    callers = [threading.Thread(target=wait_on_assessment) for _ in range(SLOW_CALLERS)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 5
    while slow_upstream.arrived < SLOW_CALLERS and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slow_upstream.arrived == SLOW_CALLERS, "the gateway did not forward every waiting caller at once"
    # All of them are waiting on assessment (for up to its 1 s timeout); incidents still answers.
    other = requests.get(f"{edge}/api/v1/incidents/track/0000-0000-0000", timeout=10)
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert answered == [], "the other caller was answered only after the slow ones"
    for caller in callers:
        caller.join()
    assert answered == [504] * SLOW_CALLERS


FLOOD = 3000  # requests one caller sends in one go on one kept-alive connection


def test_a_caller_flooding_its_connection_holds_up_no_one_else(edge):
    """Requests the gateway answers itself (here 404s) never wait on I/O. Without giving way after
    each answer (gunicorn.conf.py, post_request), a caller with requests queued on its connection
    was served until it had none left while everyone else waited (seconds, under wrk)."""
    track = f"{edge}/api/v1/incidents/track/0000-0000-0000"
    assert requests.get(track, timeout=10).status_code == 404  # connections opened, caches warm
    host, port = edge.removeprefix("http://").split(":")
    flood = socket.create_connection((host, int(port)), timeout=30)
    answered = [0]  # answers the flood has had so far
    marker = b"HTTP/1.1 404 "

    def read_answers():
        tail = b""
        while answered[0] < FLOOD:
            data = flood.recv(65536)
            if not data:
                return
            seen = tail + data
            answered[0] += seen.count(marker)
            tail = seen[-(len(marker) - 1):]  # a marker split across two reads is counted once
    reader = threading.Thread(target=read_answers, daemon=True)
    reader.start()
    flood.sendall(f"GET /api/v1/nowhere HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() * FLOOD)
    deadline = time.monotonic() + 10
    while answered[0] < 100 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert 100 <= answered[0] < FLOOD // 2, f"the flood was not under way when the other caller came: {answered[0]}"
    before = answered[0]
    other = requests.get(track, timeout=30)
    served_meanwhile = answered[0] - before
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    # Given way to after each answer, the other caller waits a few of the flood's requests, not the rest of it.
    assert served_meanwhile < FLOOD // 10, f"{served_meanwhile} of the flood's requests were served first"
    reader.join(timeout=30)
    flood.close()
    assert answered[0] == FLOOD


def test_cors_is_answered_for_the_configured_origins_only(edge):
    allowed = requests.options(f"{edge}/api/v1/incidents/reports", headers={
        "Origin": "https://grid.example.cn", "Access-Control-Request-Method": "POST"})
    assert allowed.status_code in (200, 204) and "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://grid.example.cn"
    other = requests.options(f"{edge}/api/v1/incidents/reports", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    # Forwarded answers, and the gateway's refusals of forwarded paths, carry them too.
    for answer in (requests.get(f"{edge}/api/v1/incidents/track/0000-0000-0000", headers={"Origin": "https://grid.example.cn"}),
                   requests.get(f"{edge}/api/v1/dispatch/counts", headers={"Origin": "https://grid.example.cn"})):
        assert answer.status_code in (404, 401), answer.text
        assert answer.headers["Access-Control-Allow-Origin"] == "https://grid.example.cn"
        assert "X-Request-ID" in answer.headers["Access-Control-Expose-Headers"]


def test_the_status_page_shows_each_upstream(edge):
    report = requests.get(f"{edge}/status").json()
    assert report["status"] == "degraded"
    assert report["services"]["incidents"][0]["ready"] is True
    assert report["services"]["dispatch"][0]["ready"] is False
