"""Departments, categories and duties: seeded defaults, editable data."""
API = "/api/v1/registry"


def test_defaults_are_seeded_with_chinese_and_english_names(client, anyone):
    categories = {c["code"]: c for c in client.get(f"{API}/categories", headers=anyone).get_json()["items"]}
    assert categories["catering_fumes"]["name"] == "餐饮油烟"
    assert categories["construction_dust"]["department_code"] == "housing"
    assert categories["black_smoke_vehicle"]["department_code"] == "traffic_police"
    departments = {d["code"] for d in client.get(f"{API}/departments", headers=anyone).get_json()["items"]}
    assert {c["department_code"] for c in categories.values()} <= departments
    duties = client.get(f"{API}/responsibilities/4", headers=anyone).get_json()["duties"]
    assert duties[0] == "对所负责片区开展每日巡查"


def test_the_category_map_is_editable_data(client, ops, anyone):
    response = client.patch(f"{API}/categories/open_burning", headers=ops, json={"department_code": "urban_management"})
    assert response.status_code == 200
    assert client.get(f"{API}/categories/open_burning", headers=anyone).get_json()["department_code"] == "urban_management"


def test_a_category_mapped_to_an_unknown_department_is_refused(client, ops):
    response = client.post(f"{API}/categories", headers=ops, json={
        "code": "noise", "name": "噪声", "name_en": "Noise", "group": "field", "first_level": 4,
        "department_code": "nowhere"})
    assert response.status_code == 422 and "department_code" in response.get_json()["error"]["fields"]


def test_a_department_still_in_use_cannot_be_retired(client, ops):
    response = client.patch(f"{API}/departments/housing", headers=ops, json={"active": False})
    assert response.status_code == 422
    assert client.get(f"{API}/departments", headers=ops).get_json()["items"]


def test_duties_per_level_can_be_replaced(client, ops, anyone):
    assert client.put(f"{API}/responsibilities/5", headers=ops, json={"duties": ["监督本单位环境保护"]}).status_code == 200
    assert client.get(f"{API}/responsibilities/5", headers=anyone).get_json()["duties"] == ["监督本单位环境保护"]
    assert client.put(f"{API}/responsibilities/9", headers=ops, json={"duties": ["x"]}).status_code == 404


def test_seeding_twice_changes_nothing(registry_settings, client, ops):
    from grid_registry.bootstrap import SPEC
    from servicekit.migrate import upgrade
    client.patch(f"{API}/categories/other", headers=ops, json={"name": "其他问题"})
    upgrade(SPEC, registry_settings)
    assert client.get(f"{API}/categories/other", headers=ops).get_json()["name"] == "其他问题"
