"""The pollution-source ledger (污染源台账)."""
import io

from openpyxl import load_workbook

API = "/api/v1/registry"

SOURCE = {"grid_code": "1405020010010010001", "name": "宏达餐饮油烟排口", "kind": "catering",
          "pollutants": ["油烟", "非甲烷总烃"], "equipment": [{"name": "油烟净化器", "running": True}],
          "responsible_person": "刘强", "responsible_phone": "13700001111"}


def test_a_source_is_registered_changed_with_a_reason_and_keeps_its_history(client, district, ops):
    made = client.post(f"{API}/sources", headers=ops, json=SOURCE).get_json()
    assert made["version"] == 1 and made["kind_name"] == "餐饮单位"
    response = client.patch(f"{API}/sources/{made['source_id']}", headers=ops, json={
        "equipment": [{"name": "油烟净化器", "running": False}], "status": "rectifying",
        "note": "巡查发现净化器未开启,责令整改", "version": 1})
    assert response.status_code == 200 and response.get_json()["version"] == 2
    history = client.get(f"{API}/sources/{made['source_id']}/history", headers=ops).get_json()["items"]
    assert [h["version"] for h in history] == [1, 2]
    assert history[1]["changed"] == ["equipment", "status"] and history[1]["note"].startswith("巡查发现")
    assert history[0]["state"]["status"] == "operating"


def test_a_stale_edit_is_a_conflict_and_changes_nothing(client, district, ops):
    made = client.post(f"{API}/sources", headers=ops, json=SOURCE).get_json()
    edit = {"status": "closed", "note": "关停", "version": 1}
    assert client.patch(f"{API}/sources/{made['source_id']}", headers=ops, json=edit).status_code == 200
    response = client.patch(f"{API}/sources/{made['source_id']}", headers=ops, json={**edit, "status": "suspended"})
    assert response.status_code == 409 and response.get_json()["error"]["current_version"] == 2
    assert client.get(f"{API}/sources/{made['source_id']}", headers=ops).get_json()["status"] == "closed"


def test_sources_attach_to_level5_points_or_level4_grids_only(client, district, ops):
    response = client.post(f"{API}/sources", headers=ops, json={**SOURCE, "grid_code": "140502001001"})
    assert response.status_code == 422 and "grid_code" in response.get_json()["error"]["fields"]


def test_grid_staff_keep_the_ledger_of_their_own_subtree_only(client, district, as_role):
    mine = as_role("grid_staff", grids=["140502001001"])
    other = as_role("grid_staff", grids=["140502002"])
    made = client.post(f"{API}/sources", headers=mine, json=SOURCE)
    assert made.status_code == 201
    assert client.post(f"{API}/sources", headers=other, json=SOURCE).status_code == 403
    source_id = made.get_json()["source_id"]
    assert client.get(f"{API}/sources/{source_id}", headers=other).status_code == 404
    assert client.get(f"{API}/sources", headers=other).get_json()["total"] == 0
    assert client.get(f"{API}/sources", headers=mine).get_json()["total"] == 1
    assert client.get(f"{API}/sources", headers=as_role("public")).status_code == 403


def test_the_ledger_exports_to_excel_with_chinese_headers(client, district, ops):
    client.post(f"{API}/sources", headers=ops, json=SOURCE)
    response = client.get(f"{API}/exports/sources", query_string={"format": "xlsx", "grid": "140502001"},
                          headers=ops)
    assert response.status_code == 200 and "filename*=UTF-8''" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet.title == "污染源台账" and sheet["A1"].value == "台账编号"
    row = [c.value for c in sheet[2]]
    assert row[3] == "宏达餐饮油烟排口" and row[5] == "油烟、非甲烷总烃" and row[7] == "是"
    csv_text = client.get(f"{API}/exports/sources", headers=ops).get_data().decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("台账编号,所属网格,网格名称,污染源名称")
