"""The grid tree through the HTTP API, on SQLite."""
import copy

API = "/api/v1/registry"


def test_the_tiny_district_imports_and_reads_back_with_its_chain(client, district, anyone):
    body = client.get(f"{API}/grids/140502001001001", headers=anyone).get_json()
    assert body["name"] == "西城南社区第1网格" and body["level"] == 4
    assert [a["code"] for a in body["ancestors"]] == ["140502", "140502001", "140502001001"]
    assert [c["code"] for c in body["children"]] == ["1405020010010010001", "1405020010010010002"]
    assert body["four_sides"]["east"] == "东至测试路"


def test_import_rejects_everything_and_lists_every_problem(client, tiny, ops):
    broken = copy.deepcopy(tiny)
    broken["features"][3]["properties"]["code"] = broken["features"][2]["properties"]["code"]  # duplicate
    broken["features"][-1]["properties"]["parent_code"] = "140502009009009"  # unknown parent
    broken["features"][5]["geometry"] = {"type": "Polygon", "coordinates": [[
        [112.80, 35.40], [112.85, 35.45], [112.85, 35.40], [112.80, 35.45], [112.80, 35.40]]]}  # bow-tie
    response = client.post(f"{API}/imports/grids", json=broken, headers=ops)
    assert response.status_code == 422
    problems = response.get_json()["error"]["problems"]
    kinds = {p["problem"] for p in problems}
    assert len(problems) >= 3, problems
    assert any("duplicate" in k for k in kinds) and any("parent" in k for k in kinds)
    assert any("invalid" in k or "self" in k for k in kinds)
    # Nothing was written.
    assert client.get(f"{API}/grids/140502", headers=ops).status_code == 404


def test_a_dry_run_validates_without_writing(client, tiny, ops):
    response = client.post(f"{API}/imports/grids?dry_run=1", json=tiny, headers=ops)
    assert response.status_code == 200 and response.get_json()["problems"] == []
    assert client.get(f"{API}/grids/140502", headers=ops).status_code == 404


def test_search_by_chinese_name_pinyin_initials_and_code(client, district, anyone):
    def codes(q, **extra):
        params = {"q": q, **extra}
        return [g["code"] for g in client.get(f"{API}/grids", query_string=params, headers=anyone)
                .get_json()["items"]]
    assert codes("凤台") == ["1405020010010010002"]
    assert codes("xcnsq", level=3) == ["140502001001"]  # 西城南社区
    assert codes("dongcheng", level=2) == ["140502002"]
    assert codes("140502002", level=3) == ["140502002001", "140502002002"]


def test_subtree_lists_the_grid_and_everything_below(client, district, anyone):
    body = client.get(f"{API}/grids/140502001001/subtree", headers=anyone).get_json()
    assert body["codes"] == ["140502001001", "140502001001001", "1405020010010010001", "1405020010010010002",
                             "140502001001002"]


def test_unknown_codes_are_404_and_malformed_ones_422(client, district, anyone, ops):
    assert client.get(f"{API}/grids/140502009", headers=anyone).status_code == 404
    response = client.post(f"{API}/grids", headers=ops, json={
        "code": "99", "name": "x", "kind": "area", "parent_code": None,
        "boundary": {"type": "Point", "coordinates": [1, 2]}})
    assert response.status_code == 422 and "code" in response.get_json()["error"]["fields"]


def test_a_child_outside_its_parent_is_refused_and_nothing_changes(client, district, ops):
    response = client.post(f"{API}/grids", headers=ops, json={
        "code": "1405020010010010003", "name": "越界工地", "kind": "construction_site",
        "parent_code": "140502001001001",
        "boundary": {"type": "Polygon", "coordinates": [[[112.82, 35.41], [112.83, 35.41], [112.83, 35.42],
                                                          [112.82, 35.42], [112.82, 35.41]]]}})
    assert response.status_code == 422
    assert client.get(f"{API}/grids/1405020010010010003", headers=ops).status_code == 404


def test_renaming_a_grid_versions_it_and_keeps_search_keys_current(client, district, ops, anyone):
    response = client.patch(f"{API}/grids/140502002", headers=ops, json={"name": "钟家庄街道"})
    assert response.status_code == 200 and response.get_json()["version"] == 2
    found = client.get(f"{API}/grids", query_string={"q": "zjz"}, headers=anyone).get_json()["items"]
    assert [g["code"] for g in found] == ["140502002"]


def test_a_wrong_kind_for_the_level_is_refused(client, district, ops):
    response = client.patch(f"{API}/grids/140502002", headers=ops, json={"kind": "market"})
    assert response.status_code == 422 and "kind" in response.get_json()["error"]["fields"]


def test_writes_need_the_office_roles(client, district, anyone, as_role):
    assert client.patch(f"{API}/grids/140502002", headers=anyone, json={"name": "x"}).status_code == 403
    staff = as_role("grid_staff", grids=["140502002"])
    assert client.patch(f"{API}/grids/140502002", headers=staff, json={"name": "x"}).status_code == 403


def test_splitting_a_grid_retires_it_and_moves_its_points(client, district, ops, anyone):
    old = "140502001001001"  # x 112.80-112.825, y 35.40-35.45, holds the two level-5 units
    response = client.post(f"{API}/reorganisations", headers=ops, json={
        "retire": [old], "reason": "按楼院重新划分",
        "create": [
            {"code": "140502001001003", "name": "西城南社区第3网格", "kind": "area", "parent_code": "140502001001",
             "boundary": {"type": "Polygon", "coordinates": [[[112.80, 35.40], [112.825, 35.40], [112.825, 35.415],
                                                              [112.80, 35.415], [112.80, 35.40]]]}},
            {"code": "140502001001004", "name": "西城南社区第4网格", "kind": "area", "parent_code": "140502001001",
             "boundary": {"type": "Polygon", "coordinates": [[[112.80, 35.415], [112.825, 35.415], [112.825, 35.45],
                                                              [112.80, 35.45], [112.80, 35.415]]]}},
        ]})
    assert response.status_code == 201, response.get_json()
    retired = client.get(f"{API}/grids/{old}", headers=anyone).get_json()
    assert retired["status"] == "retired" and retired["replaced_by"] == ["140502001001003", "140502001001004"]
    # The enterprise point (35.41) moved under the southern part, the compound (35.42) under the northern.
    south = client.get(f"{API}/grids/140502001001003", headers=anyone).get_json()
    north = client.get(f"{API}/grids/140502001001004", headers=anyone).get_json()
    assert [c["name"] for c in south["children"]] == ["宏达餐饮有限公司"]
    assert [c["name"] for c in north["children"]] == ["凤台小区"]


def test_a_split_that_does_not_cover_the_old_area_is_refused(client, district, ops, anyone):
    response = client.post(f"{API}/reorganisations", headers=ops, json={
        "retire": ["140502001001001"], "reason": "x",
        "create": [{"code": "140502001001003", "name": "半个网格", "kind": "area", "parent_code": "140502001001",
                    "boundary": {"type": "Polygon", "coordinates": [[[112.80, 35.40], [112.825, 35.40],
                                                                     [112.825, 35.415], [112.80, 35.415],
                                                                     [112.80, 35.40]]]}}]})
    assert response.status_code == 422
    assert client.get(f"{API}/grids/140502001001001", headers=anyone).get_json()["status"] == "active"


def test_coverage_report_names_uncovered_area(client, tiny, ops):
    holey = copy.deepcopy(tiny)
    holey["features"] = [f for f in holey["features"] if f["properties"]["code"] != "140502002002002"]
    assert client.post(f"{API}/imports/grids", json=holey, headers=ops).status_code == 422
    # Imported without the gap check's blessing it is refused; with the gap filled it passes.
    assert client.post(f"{API}/imports/grids", json=tiny, headers=ops).status_code == 201
    assert client.get(f"{API}/reports/coverage", headers=ops).get_json()["complete"] is True


def test_export_round_trips_the_import(client, district, ops):
    exported = client.get(f"{API}/exports/grids.geojson", headers=ops).get_json()
    codes = sorted(f["properties"]["code"] for f in exported["features"])
    assert codes == sorted(f["properties"]["code"] for f in district["features"])
    assert exported["features"][0]["properties"]["name"] == "测试区"


def test_a_split_through_a_compound_is_refused(client, district, ops, anyone):
    # The compound 凤台小区 spans y 35.420-35.423: a border at 35.421 would cut it in two.
    cut = 35.421
    response = client.post(f"{API}/reorganisations", headers=ops, json={
        "retire": ["140502001001001"], "reason": "x", "create": [
            {"code": "140502001001003", "name": "南", "kind": "area", "parent_code": "140502001001",
             "boundary": {"type": "Polygon", "coordinates": [[[112.80, 35.40], [112.825, 35.40], [112.825, cut],
                                                              [112.80, cut], [112.80, 35.40]]]}},
            {"code": "140502001001004", "name": "北", "kind": "area", "parent_code": "140502001001",
             "boundary": {"type": "Polygon", "coordinates": [[[112.80, cut], [112.825, cut], [112.825, 35.45],
                                                              [112.80, 35.45], [112.80, cut]]]}}]})
    assert response.status_code == 422
    assert [p["code"] for p in response.get_json()["error"]["problems"]] == ["1405020010010010002"]
    assert client.get(f"{API}/grids/140502001001001", headers=anyone).get_json()["status"] == "active"


def test_villages_can_be_merged_with_their_grids_recoded_under_the_new_one(client, district, ops, anyone):
    response = client.post(f"{API}/reorganisations", headers=ops, json={
        "retire": ["140502002001", "140502002002"], "reason": "村改居合并", "create": [
            {"code": "140502002003", "name": "东城社区", "kind": "community", "parent_code": "140502002",
             "boundary": {"type": "Polygon", "coordinates": [[[112.85, 35.40], [112.90, 35.40], [112.90, 35.50],
                                                              [112.85, 35.50], [112.85, 35.40]]]}}]})
    assert response.status_code == 201, response.get_json()
    merged = client.get(f"{API}/grids/140502002003", headers=anyone).get_json()
    assert [c["code"] for c in merged["children"]] == ["140502002003001", "140502002003002",
                                                        "140502002003003", "140502002003004"]
    old_grid = client.get(f"{API}/grids/140502002001001", headers=anyone).get_json()
    assert old_grid["status"] == "retired" and old_grid["replaced_by"][0].startswith("140502002003")
    assert client.get(f"{API}/reports/coverage", headers=ops).get_json()["complete"] is True
