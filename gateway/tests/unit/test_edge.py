"""The gateway's pure edge parts: the access table, rate limits, the circuit breaker."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import access
from gateway.access_table import ROUTES
from gateway.breaker import Breaker
from gateway.limits import MemoryCounter, RateLimiter

REPO = Path(__file__).resolve().parents[3]


def test_the_access_table_matches_the_services_routes():
    """Regenerated from the services' own route declarations, it must equal the committed table."""
    sys.path.insert(0, str(REPO / "scripts"))
    import gen_access_table
    assert gen_access_table.render(gen_access_table.routes()) == (
        REPO / "gateway" / "gateway" / "access_table.py").read_text(encoding="utf-8"), \
        "routes changed: run .venv/bin/python scripts/gen_access_table.py"


@pytest.mark.parametrize("method,path,rule", [
    ("GET", "/api/v1/registry/grids/140502001", "/api/v1/registry/grids/<code>"),
    ("GET", "/api/v1/registry/grids/140502001/notice-board.html", "/api/v1/registry/grids/<code>/notice-board.html"),
    ("POST", "/api/v1/dispatch/cases/C1/actions/accept", "/api/v1/dispatch/cases/<case_id>/actions/<action>"),
    ("POST", "/ops/incidents/probes", "/ops/incidents/probes"),
])
def test_paths_find_their_route_and_its_roles(method, path, rule):
    found_rule, roles = access.allowed_roles(method, path)
    assert found_rule == rule and roles


def test_unknown_paths_and_methods_find_nothing():
    assert access.allowed_roles("GET", "/api/v1/registry/nothing/here/at/all") is None
    assert access.allowed_roles("DELETE", "/api/v1/registry/grids/140502") is None
    assert access.path_exists("/api/v1/registry/grids/140502")


def _scanned(method, path):
    """The lookup's definition: every rule in match order (fewer variables, then longer, first)."""
    for _, rule_method, rule, roles in sorted(ROUTES, key=lambda r: (r[2].count("<"), -len(r[2]))):
        if rule_method == method and access._pattern(rule).match(path):
            return rule, frozenset(roles)
    return None


def _sample(rule: str) -> str:
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: "a/b" if m.group(1) == "path" else "C1", rule)


@pytest.mark.parametrize("method", sorted(access.METHODS))
def test_the_indexed_lookup_answers_as_a_scan_of_the_whole_table(method):
    """Every route's own sample path, under every method: the same route (or none) as the scan."""
    paths = {_sample(rule) for _, _, rule, _ in ROUTES} | {"/api/v1/nowhere", "/ops/dispatch/probes/"}
    assert len(paths) > 50
    for path in paths:
        assert access.allowed_roles(method, path) == _scanned(method, path), path


def test_a_literal_segment_wins_over_a_variable():
    assert access.allowed_roles("POST", "/api/v1/rewards/awards/A1/pay")[0] == "/api/v1/rewards/awards/<award_id>/pay"
    assert access.allowed_roles("POST", "/api/v1/rewards/awards/A1/hold")[0] == (
        "/api/v1/rewards/awards/<award_id>/<action>")


def test_a_caller_over_the_limit_is_told_when_to_come_back():
    limiter = RateLimiter(MemoryCounter(), env={"GATEWAY_RATE_PUBLIC": "3"})
    now = 60 * 16_667 + 20.0  # 20 s into a minute
    assert [limiter.check("public", "1.2.3.4", now) for _ in range(3)] == [None, None, None]
    assert limiter.check("public", "1.2.3.4", now) == 40
    assert limiter.check("public", "5.6.7.8", now) is None        # others are not affected
    assert limiter.check("public", "1.2.3.4", now + 60) is None   # a new minute


def test_a_limiter_whose_redis_is_away_still_limits():
    class Broken:
        def hit(self, key, window):
            raise ConnectionError("redis down")
    limiter = RateLimiter(Broken(), env={"GATEWAY_RATE_KEY": "1"})
    assert limiter.check("key", "city", 0) is None and limiter.check("key", "city", 1) is not None


def test_redis_counts_are_shared(tmp_path):
    import redis
    try:
        redis.Redis(socket_connect_timeout=0.5).ping()
    except redis.ConnectionError:
        pytest.fail("this test needs the local Redis on 127.0.0.1:6379", pytrace=False)
    env = {"GATEWAY_REDIS_URL": "redis://127.0.0.1:6379/15", "GATEWAY_RATE_USER": "2"}
    one, two = RateLimiter(env=env), RateLimiter(env=env)  # two gateway replicas
    import uuid
    who = f"user-{uuid.uuid4().hex}"
    assert one.check("user", who, 120.0) is None and two.check("user", who, 120.0) is None
    assert one.check("user", who, 120.0) is not None


def test_the_breaker_opens_after_repeated_failures_and_tries_again_later():
    breaker = Breaker(failures=3, open_for_s=10)
    for _ in range(3):
        assert breaker.allow("http://a", now=0)
        breaker.failure("http://a", now=0)
    assert not breaker.allow("http://a", now=5)
    assert breaker.allow("http://a", now=11)       # half-open: one try
    breaker.success("http://a")
    assert breaker.allow("http://a", now=12)
