"""Notice boards (公示牌) of level-4 grids and level-5 points."""
API = "/api/v1/registry"


def test_a_board_names_boundaries_duties_people_and_the_report_link(client, district, ops, anyone):
    client.post(f"{API}/people", headers=ops, json={"person_id": "P1", "name": "张伟", "phone": "13912345678",
                                                     "title": "村委委员"})
    client.post(f"{API}/grids/140502001001001/members", headers=ops, json={"person_id": "P1", "role": "leader"})
    board = client.get(f"{API}/grids/140502001001001/notice-board", headers=anyone).get_json()
    assert board["four_sides"] == {"east": "东至测试路", "south": "南至测试街", "west": "西至测试巷", "north": "北至测试河"}
    assert board["people"] == [{"role": "leader", "role_name": "网格长", "name": "张伟", "title": "村委委员",
                                "phone": "13912345678"}]
    assert board["duties"][0] == "对所负责片区开展每日巡查"
    assert board["report_url"].endswith("/report?grid=140502001001001")
    assert [p["name"] for p in board["belongs_to"]] == ["测试区", "西城街道", "西城南社区"]


def test_the_printable_page_is_a4_html_with_a_qr_code_and_escaped_text(client, district, ops, anyone):
    client.patch(f"{API}/grids/140502001001001", headers=ops, json={"name": "<b>第1网格</b>"})
    response = client.get(f"{API}/grids/140502001001001/notice-board.html", headers=anyone)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "size: A4" in page and "环境保护网格化监管公示牌" in page and "<svg" in page
    assert "&lt;b&gt;第1网格&lt;/b&gt;" in page and "<b>第1网格</b>" not in page


def test_boards_are_for_levels_4_and_5(client, district, anyone):
    assert client.get(f"{API}/grids/140502001/notice-board", headers=anyone).status_code == 422
    assert client.get(f"{API}/grids/140502001001001/notice-board", headers=anyone).status_code == 200
    assert client.get(f"{API}/grids/1405020010010010001/notice-board", headers=anyone).status_code == 200
