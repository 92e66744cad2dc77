import io

from openpyxl import load_workbook

from servicekit.exports import to_csv, to_xlsx


def test_csv_has_a_bom_for_excel_and_keeps_chinese():
    body = to_csv(["网格", "名称"], [["140502001", "东街街道"]])
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.decode("utf-8-sig").splitlines() == ["网格,名称", "140502001,东街街道"]


def test_formula_like_cells_stay_text():
    body = to_csv(["name"], [["=HYPERLINK(\"http://x\")"], ["-2+3"]]).decode("utf-8-sig")
    assert "'=HYPERLINK" in body and "'-2+3" in body


def test_xlsx_round_trips_chinese_headers_lists_and_booleans():
    data = to_xlsx(["污染物", "设施运行"], [[["颗粒物", "二氧化硫"], True]], title="污染源台账")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "污染源台账"
    assert [c.value for c in sheet[1]] == ["污染物", "设施运行"]
    assert [c.value for c in sheet[2]] == ["颗粒物、二氧化硫", "是"]
