"""Locating points through the API (the Locator itself is tested in test_locate.py)."""
from servicekit.geo import wgs84_to_gcj02

API = "/api/v1/registry"


def test_a_point_in_a_level4_grid_gets_its_whole_chain_with_names(client, district, anyone):
    body = client.get(f"{API}/locate", query_string={"lon": 112.87, "lat": 35.47}, headers=anyone).get_json()
    assert body["inside"] is True
    assert [c["code"] for c in body["chain"]] == ["140502", "140502002", "140502002002", "140502002002001"]
    assert body["grid"]["name"] == "东城北社区第1网格"


def test_gcj02_input_lands_where_its_wgs84_original_does(client, district, anyone):
    lon, lat = wgs84_to_gcj02(112.87, 35.47)
    body = client.get(f"{API}/locate", query_string={"lon": lon, "lat": lat, "datum": "gcj02"},
                      headers=anyone).get_json()
    assert body["grid"]["code"] == "140502002002001"
    assert abs(body["wgs84"]["lon"] - 112.87) < 1e-6 and abs(body["wgs84"]["lat"] - 35.47) < 1e-6


def test_a_point_outside_the_district_is_said_to_be_outside(client, district, anyone):
    body = client.get(f"{API}/locate", query_string={"lon": 113.5, "lat": 35.47}, headers=anyone).get_json()
    assert body["inside"] is False and "chain" not in body and "outside" in body["message"]


def test_level5_units_are_found_first(client, district, anyone):
    at_gate = client.get(f"{API}/locate", query_string={"lon": 112.8101, "lat": 35.4101}, headers=anyone).get_json()
    assert at_gate["grid"]["code"] == "1405020010010010001"
    in_compound = client.get(f"{API}/locate", query_string={"lon": 112.813, "lat": 35.421},
                             headers=anyone).get_json()
    assert in_compound["grid"]["code"] == "1405020010010010002"


def test_batches_answer_in_order(client, district, anyone):
    points = [{"lon": 112.87, "lat": 35.47}, {"lon": 113.5, "lat": 35.47},
              {"lon": 112.81, "lat": 35.44, "datum": "wgs84"}]
    results = client.post(f"{API}/locate", json={"points": points}, headers=anyone).get_json()["results"]
    assert [r.get("grid", {}).get("code") for r in results] == ["140502002002001", None, "140502001001001"]


def test_bad_coordinates_are_422_naming_the_parameter(client, district, anyone):
    for params, field in [({"lon": 200, "lat": 35}, "lon"), ({"lon": "east", "lat": 35}, "lon"),
                          ({"lon": 112.8}, "lat"), ({"lon": 112.8, "lat": 35, "datum": "bd09"}, "datum"),
                          ({"lon": "nan", "lat": 35}, "lon")]:
        response = client.get(f"{API}/locate", query_string=params, headers=anyone)
        assert response.status_code == 422, params
        assert field in response.get_json()["error"]["fields"], params


def test_a_retired_grid_no_longer_receives_points(client, district, ops, anyone):
    client.post(f"{API}/reorganisations", headers=ops, json={
        "retire": ["140502002002001", "140502002002002"], "reason": "合并",
        "create": [{"code": "140502002002003", "name": "东城北社区合并网格", "kind": "area",
                    "parent_code": "140502002002",
                    "boundary": {"type": "Polygon", "coordinates": [[[112.85, 35.45], [112.90, 35.45],
                                                                     [112.90, 35.50], [112.85, 35.50],
                                                                     [112.85, 35.45]]]}}]})
    import grid_registry.locating as locating
    locating._cache["checked"] = 0  # do not wait for the next periodic check
    body = client.get(f"{API}/locate", query_string={"lon": 112.87, "lat": 35.47}, headers=anyone).get_json()
    assert body["grid"]["code"] == "140502002002003"
