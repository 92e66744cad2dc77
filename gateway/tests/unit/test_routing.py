import pytest

from gateway.keys import ApiKeys, key_digest
from gateway.routing import ROUTES, SERVICES, match
from gateway.upstreams import Upstreams


@pytest.mark.parametrize("path,service,upstream", [
    ("/api/v1/incidents/reports", "incidents", "/api/v1/incidents/reports"),
    ("/api/v1/registry/grids/140502", "grid-registry", "/api/v1/registry/grids/140502"),
    ("/ops/dispatch/probes/abc", "dispatch", "/ops/probes/abc"),
])
def test_paths_reach_their_service(path, service, upstream):
    route, upstream_path = match(path)
    assert (route.service, upstream_path) == (service, upstream)


@pytest.mark.parametrize("path", ["/api/v1/unknown/x", "/api/v1/incidentsX/y", "/ops/gateway/x", "/"])
def test_unknown_paths_match_nothing(path):
    assert match(path) is None


def test_every_service_is_routed():
    assert {r.service for r in ROUTES} == set(SERVICES)


def test_round_robin_over_several_instances():
    upstreams = Upstreams.from_env({"UPSTREAM_DISPATCH_URL": "http://a:1, http://b:2/"})
    assert [upstreams.next("dispatch") for _ in range(3)] == ["http://a:1", "http://b:2", "http://a:1"]
    assert upstreams.next("incidents") == "http://127.0.0.1:8002"


def test_api_keys_are_matched_by_digest_only(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text('{"keys": [{"sha256": "%s", "subject": "city", "roles": ["city_platform"]}]}'
                    % key_digest("s3cret"))
    keys = ApiKeys.from_file(path)
    assert keys.lookup("s3cret").roles == frozenset({"city_platform"})
    assert keys.lookup("s3cre") is None
    assert "s3cret" not in path.read_text()


def test_api_keys_with_unknown_roles_are_refused(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text('{"keys": [{"sha256": "00", "subject": "x", "roles": ["root"]}]}')
    with pytest.raises(ValueError, match="root"):
        ApiKeys.from_file(path)
