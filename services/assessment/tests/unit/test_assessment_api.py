"""A month of activity for a small village, closed and scored; records, rules and bad input.

Worked example (default rules v1, level 4, October 2026: 31 days):
  grid 001: 1 case received (a public report), handled on time, closed; patrols on 20 days.
    处置率 1/1 x30 = 30; 按期处置率 1/1 x20 = 20; 1-返工率 (0/1) x20 = 20; 1-超期率 (0/1) x20 = 20;
    1-延期率 (0/1) x10 = 10 → 100. Deductions: 11 days without a patrol x2 = 22, capped at 20;
    found by the public 1 x1 = 1 → 100 - 21 = 79.00 → 合格 → subsidy 30000 x 0.8 = 24000 fen each.
  grid 002: 1 case received (public), never handled, overdue; three SLA breaches; no patrol.
    处置率 0/1 → 0; 按期处置率 0/0 no data → full 20; 1-返工率 0/0 no data → 20;
    1-超期率 1 - 1/1 → 0; 1-延期率 (0/1) → 10 → 50. Deductions: patrol 31 x2 = 62 capped 20;
    public 1 → 50 - 21 = 29.00 → 不合格 → 0 fen; flag repeated_breaches (3 ≥ 3).
"""
import io
from datetime import date, datetime, timedelta, timezone

from openpyxl import load_workbook
from sqlalchemy import select

API = "/api/v1/assessment"
G1, G2 = "140502001001001", "140502001001002"
OCT = datetime(2026, 10, 15, 2, 0, tzinfo=timezone.utc)


def case(deliver, kind, case_id, grid, at=OCT, **extra):
    data = {"case_id": case_id, "incident_ids": [f"R{case_id}"], "state": extra.pop("state", "assigned"),
            "grid_code": grid, "at": at.isoformat(), "channel": "public_web", "level": 4, "category": "catering_fumes",
            "due_at": (at + timedelta(days=1)).isoformat(), "action": kind.split(".")[1]} | extra
    return deliver(kind, data)


def month_of_activity(deliver):
    case(deliver, "case.assigned", "C1", G1)
    case(deliver, "case.handled", "C1", G1, state="handled", on_time=True)
    case(deliver, "case.closed", "C1", G1, state="closed")
    case(deliver, "case.assigned", "C2", G2)
    for _ in range(3):
        case(deliver, "case.sla_breached", "C2", G2, timer="breach", breach_action="flag")
    for day in range(1, 21):
        started = datetime(2026, 10, day, 1, 0, tzinfo=timezone.utc)
        deliver("patrol.recorded", {"patrol_id": f"P{day}", "grid_code": G1, "staff": "P1",
                                    "started_at": started.isoformat(), "ended_at": (started + timedelta(hours=1)).isoformat(),
                                    "distance_m": 800.0, "checkpoints": 5, "problems": []})


def test_a_month_is_closed_scored_ranked_paid_and_flagged_as_computed_by_hand(client, deliver, as_role, db):
    month_of_activity(deliver)
    ops = as_role("district_ops")
    closed = client.post(f"{API}/periods/2026-10/close", headers=ops)
    assert closed.status_code == 200, closed.get_json()
    scores = {i["grid_code"]: i for i in client.get(f"{API}/periods/2026-10/scores", headers=ops).get_json()["items"]}
    assert (scores[G1]["score"], scores[G1]["grade"], scores[G1]["rank"], scores[G1]["of"]) == ("79.00", "合格", 1, 2)
    assert (scores[G2]["score"], scores[G2]["grade"], scores[G2]["rank"]) == ("29.00", "不合格", 2)
    explained = client.get(f"{API}/periods/2026-10/scores/{G1}", headers=ops).get_json()
    contributions = {e["name"]: e["contribution"] for e in explained["explanation"]["explanation"]}
    assert sum(float(v) for v in contributions.values()) == 100
    pay = client.get(f"{API}/periods/2026-10/subsidies", headers=as_role("rewards_office")).get_json()["items"]
    assert sorted((p["person_id"], p["amount_fen"]) for p in pay) == [
        ("P1", 24000), ("P2", 0), ("P3", 24000), ("P4", 24000)]
    assert all(isinstance(p["amount_fen"], int) for p in pay) and pay[0]["yuan"] in ("240.00", "0.00")
    flagged = client.get(f"{API}/flags?period=2026-10", headers=ops).get_json()["items"]
    assert [(f["grid_code"], f["flag"]) for f in flagged] == [(G2, "repeated_breaches")]


def test_redelivered_events_change_nothing(client, deliver, as_role):
    outcome, envelope = case(deliver, "case.assigned", "C1", G1)
    assert deliver(None, None, envelope=envelope)[0] == "duplicate"
    client.post(f"{API}/periods/2026-10/close", headers=as_role("district_ops"))
    explained = client.get(f"{API}/periods/2026-10/scores/{G1}", headers=as_role("district_ops")).get_json()
    assert explained["counters"]["received"] == 1


def test_late_events_for_a_closed_month_count_in_the_current_one(client, deliver, as_role, db):
    from assessment.models import adjustments, metrics
    from assessment.periods import period_of
    client.post(f"{API}/periods/2026-10/close", headers=as_role("district_ops"))
    case(deliver, "case.assigned", "C9", G1)  # happened in October, heard of after the close
    with db.transaction() as session:
        (adjustment,) = session.execute(select(adjustments)).all()
        current = period_of(datetime.now(timezone.utc), "month").key
        assert (adjustment.belongs_to, adjustment.counted_in) == ("2026-10", current)
        october = session.execute(select(metrics.c.received).where(metrics.c.grid_code == G1,
                                                                   metrics.c.month == "2026-10")).first()
        assert october is None


def test_recomputing_with_new_rules_makes_a_new_result_and_keeps_the_old(client, deliver, as_role):
    month_of_activity(deliver)
    ops = as_role("district_ops")
    client.post(f"{API}/periods/2026-10/close", headers=ops)
    rules = client.get(f"{API}/rules", headers=ops).get_json()
    rules["version"] = 2
    for level in rules["levels"].values() if isinstance(rules.get("levels"), dict) else []:
        for deduction in level.get("deductions", []):
            if deduction["counter"] == "found_by_public":
                deduction["points_each"] = 0
    assert client.post(f"{API}/rules", headers=ops, json={"rules": rules, "note": "不再扣群众发现分"}).status_code == 201
    again = client.post(f"{API}/periods/2026-10/scores", headers=ops, json={"rule_version": 2})
    assert again.status_code == 201
    first = client.get(f"{API}/periods/2026-10/scores?result_set=1", headers=ops).get_json()
    second = client.get(f"{API}/periods/2026-10/scores", headers=ops).get_json()
    assert first["rule_version"] == 1 and second["rule_version"] == 2 and second["result_set"] > first["result_set"]


def test_records_and_their_bad_input(client, as_role, db):
    village = as_role("grid_staff", grids=["140502001001"])
    town = as_role("grid_staff", grids=["140502001"])
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    meeting = {"grid_code": "140502001001", "kind": "briefing", "held_at": yesterday, "attendees": ["张伟", "李娜"],
               "minutes": "通报昨日巡查情况"}
    assert client.post(f"{API}/meetings", headers=village, json=meeting).status_code == 201
    future = {**meeting, "held_at": (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()}
    response = client.post(f"{API}/meetings", headers=village, json=future)
    assert response.status_code == 422 and "held_at" in response.get_json()["error"]["fields"]
    assert client.post(f"{API}/meetings", headers=village, json={**meeting, "kind": "joint"}).status_code == 422
    inspection = {"inspecting_grid": "140502001", "inspected_grid": "140502001001", "held_at": yesterday,
                  "findings": "台账齐全"}
    assert client.post(f"{API}/inspections", headers=town, json=inspection).status_code == 201
    outside = {**inspection, "inspected_grid": "140502002001"}
    assert client.post(f"{API}/inspections", headers=town, json=outside).status_code in (403, 422)
    not_mine = as_role("grid_staff", grids=["140502002"])
    assert client.post(f"{API}/inspections", headers=not_mine, json=inspection).status_code == 403


def test_periods_rules_and_closing_refuse_what_does_not_hold(client, as_role):
    ops = as_role("district_ops")
    this_month = datetime.now(timezone.utc).strftime("%Y-%m")
    assert client.post(f"{API}/periods/{this_month}/close", headers=ops).status_code == 422  # not ended
    assert client.post(f"{API}/periods/2026-13/close", headers=ops).status_code == 422
    assert client.post(f"{API}/periods/2026-10/close", headers=ops).status_code == 200
    assert client.post(f"{API}/periods/2026-10/close", headers=ops).status_code == 409
    assert client.post(f"{API}/periods/2026-10/scores", headers=ops, json={"rule_version": 99}).status_code == 422
    rules = client.get(f"{API}/rules", headers=ops).get_json()
    broken = {**rules, "version": 3}
    text = str(broken)
    response = client.post(f"{API}/rules", headers=ops, json={"rules": _break_weights(broken), "note": "x"})
    assert response.status_code == 422 and "sum" in response.get_json()["error"]["message"]


def _break_weights(rules):
    import copy
    rules = copy.deepcopy(rules)
    levels = rules["levels"]
    first = next(iter(levels.values())) if isinstance(levels, dict) else levels[0]
    first["metrics"][0]["weight"] = first["metrics"][0]["weight"] + 5
    return rules


def test_scores_export_to_excel_with_chinese_headers(client, deliver, as_role):
    month_of_activity(deliver)
    ops = as_role("district_ops")
    client.post(f"{API}/periods/2026-10/close", headers=ops)
    sheet = load_workbook(io.BytesIO(client.get(f"{API}/periods/2026-10/scores?format=xlsx",
                                                headers=ops).get_data())).active
    assert [c.value for c in sheet[1]][:5] == ["考核期", "网格编码", "网格名称", "层级", "得分"]
    subsidies = client.get(f"{API}/periods/2026-10/subsidies?format=csv", headers=ops).get_data().decode("utf-8-sig")
    assert subsidies.splitlines()[0].startswith("考核期,网格编码,人员编号,姓名")


def test_a_grid_failing_two_months_running_is_flagged_and_the_month_still_closes(client, deliver, as_role):
    """The failing_twice flag carries the streak of results as its evidence (a list, not a mapping)."""
    ops = as_role("district_ops")
    for month, day in (("2026-09", datetime(2026, 9, 15, 2, tzinfo=timezone.utc)), ("2026-10", OCT)):
        case(deliver, "case.assigned", f"C-{month}", G2, at=day)
        closed = client.post(f"{API}/periods/{month}/close", headers=ops)
        assert closed.status_code == 200, closed.get_json()
    flagged = client.get(f"{API}/flags?period=2026-10", headers=ops).get_json()["items"]
    streak = [f for f in flagged if f["grid_code"] == G2 and f["flag"] == "failing_twice"]
    assert len(streak) == 1 and len(streak[0]["evidence"]["results"]) == 2
