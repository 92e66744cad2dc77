"""People and their roles in grids."""
API = "/api/v1/registry"


def add_person(client, ops, person_id="P1", name="张伟", phone="13912345678", title="村委委员"):
    return client.post(f"{API}/people", headers=ops,
                       json={"person_id": person_id, "name": name, "phone": phone, "title": title})


def test_a_person_can_hold_roles_in_several_grids(client, district, ops):
    assert add_person(client, ops).status_code == 201
    first = client.post(f"{API}/grids/140502001001/members", headers=ops,
                        json={"person_id": "P1", "role": "deputy_leader"})
    second = client.post(f"{API}/grids/140502001001001/members", headers=ops,
                         json={"person_id": "P1", "role": "leader"})
    assert (first.status_code, second.status_code) == (201, 201)
    roles = client.get(f"{API}/people/P1", headers=ops).get_json()["roles"]
    assert sorted((r["grid_code"], r["role_name"]) for r in roles) == [
        ("140502001001", "副网格长"), ("140502001001001", "网格长")]


def test_a_role_that_does_not_exist_at_the_level_is_422(client, district, ops):
    add_person(client, ops)
    response = client.post(f"{API}/grids/140502001001001/members", headers=ops,
                           json={"person_id": "P1", "role": "first_leader"})  # 第一网格长 is level 3 only
    assert response.status_code == 422 and "role" in response.get_json()["error"]["fields"]


def test_a_phone_number_that_is_not_one_is_422(client, district, ops):
    for phone in ("12345", "23912345678", "1391234567x", "0356-12"):
        response = add_person(client, ops, phone=phone)
        assert response.status_code == 422 and "phone" in response.get_json()["error"]["fields"], phone
    assert add_person(client, ops, phone="0356-2221234").status_code == 201


def test_the_same_role_twice_is_a_conflict(client, district, ops):
    add_person(client, ops)
    body = {"person_id": "P1", "role": "leader"}
    assert client.post(f"{API}/grids/140502001001001/members", headers=ops, json=body).status_code == 201
    assert client.post(f"{API}/grids/140502001001001/members", headers=ops, json=body).status_code == 409


def test_grids_without_a_leader_are_reported_until_one_is_named(client, district, ops):
    missing = {g["code"] for g in client.get(f"{API}/reports/without-leader", headers=ops).get_json()["grids"]}
    assert "140502001001001" in missing and len(missing) == 17
    add_person(client, ops)
    client.post(f"{API}/grids/140502001001001/members", headers=ops, json={"person_id": "P1", "role": "leader"})
    missing = {g["code"] for g in client.get(f"{API}/reports/without-leader", headers=ops).get_json()["grids"]}
    assert "140502001001001" not in missing and len(missing) == 16


def test_removing_a_role_ends_it(client, district, ops):
    add_person(client, ops)
    made = client.post(f"{API}/grids/140502001001001/members", headers=ops,
                       json={"person_id": "P1", "role": "leader"}).get_json()
    url = f"{API}/grids/140502001001001/members/{made['membership_id']}"
    assert client.delete(url, headers=ops).status_code == 204
    assert client.get(f"{API}/grids/140502001001001", headers=ops).get_json()["members"] == []
    assert client.delete(url, headers=ops).status_code == 404


def test_people_csv_imports_all_rows_or_none_and_exports_in_chinese(client, district, ops):
    good = ("人员编号,姓名,电话,职务,网格编码,网格角色\n"
            "P10,李娜,13800000001,社区书记,140502001001,leader\n"
            "P10,李娜,13800000001,社区书记,140502001002,first_leader\n"
            "P11,王芳,13800000002,项目经理,1405020010010010002,unit_leader\n")
    bad = good + "P12,赵磊,555,,140502001001,leader\nP13,钱军,13800000003,,140502001001001,chief\n"
    response = client.post(f"{API}/imports/people", data=bad.encode("utf-8"), headers=ops)
    assert response.status_code == 422
    assert sorted(p["line"] for p in response.get_json()["error"]["fields"]["rows"]) == [5, 6]
    assert client.get(f"{API}/people/P10", headers=ops).status_code == 404
    response = client.post(f"{API}/imports/people", data=good.encode("utf-8"), headers=ops)
    assert response.get_json() == {"people_created": 2, "roles_assigned": 3}
    exported = client.get(f"{API}/exports/people.csv", headers=ops).get_data().decode("utf-8-sig")
    assert exported.splitlines()[0] == "人员编号,姓名,电话,职务,网格编码,网格角色"
    assert "P11,王芳,13800000002,项目经理,1405020010010010002,unit_leader" in exported
