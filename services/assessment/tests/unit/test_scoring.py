"""Scoring rules on plain data: worked examples per level, validation, ranking, subsidies, flags, compliance."""
import copy
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment.periods import Period
from assessment.scoring import (COUNTERS, DEFAULT_RULES, DEFAULT_RULES_DATA, Result, RuleSet, compliance,
                                counters_with_derived, flags, meeting_window, rank, rules_by_version, score,
                                subsidy_fen)

D = Decimal


def contributions(result):
    return {item["name"]: item["contribution"] for item in result.explanation}


def points(result):
    return {item["name"]: item["points"] for item in result.deductions}


def rules_with(**changes):
    data = copy.deepcopy(DEFAULT_RULES_DATA)
    data.update(changes)
    return data


# ---------------------------------------------------------------------------- worked examples

def test_worked_example_level_4_month():
    # A level-4 grid, November 2026 (30 days).
    counters = {"received": 20, "handled": 18, "handled_on_time": 15, "reopened": 2, "overdue_open": 1,
                "extended": 2, "patrol_days": 27, "days_in_period": 30, "found_by_public": 1}
    result = score(counters, 4, DEFAULT_RULES)
    # 处置率     18/20 = 0.9          x 30 = 27.00
    # 按期处置率 15/18 = 0.8333...    x 20 = 16.666... -> 16.67
    # 返工率      2/18 = 0.1111...; 1 - = 0.8888... x 20 = 17.777... -> 17.78
    # 超期率      1/20 = 0.05;      1 - = 0.95      x 20 = 19.00
    # 延期率      2/20 = 0.1;       1 - = 0.9       x 10 =  9.00
    # subtotal 27 + 16.67 + 17.78 + 19 + 9 = 89.45
    # deductions: 30 - 27 = 3 days without patrol x 2 = 6.00 (cap 20); city 0; public 1 x 1 = 1.00
    # score 89.45 - 7.00 = 82.45 -> 良好 (80 <= 82.45 < 90)
    assert result.score == D("82.45") and result.grade == "良好"
    assert result.subtotal == D("89.45") and result.rule_version == 1 and result.level == 4
    assert contributions(result) == {"handling_rate": D("27.00"), "on_time_rate": D("16.67"),
                                     "rework_rate": D("17.78"), "overdue_rate": D("19.00"),
                                     "extension_rate": D("9.00")}
    assert points(result) == {"missed_patrol_days": D("6.00"), "found_by_city": D("0.00"),
                              "found_by_public": D("1.00")}
    rework = result.explanation[2]
    assert rework == {"name": "rework_rate", "label_zh": "返工率", "kind": "inverse_rate", "numerator": 2,
                      "denominator": 18, "rate": D("0.1111"), "value": D("0.8889"), "weight": D(20),
                      "contribution": D("17.78"), "no_data": False}
    assert [item["label_zh"] for item in result.explanation] == ["处置率", "按期处置率", "返工率", "超期率", "延期率"]
    assert result.deductions[0] == {"name": "missed_patrol_days", "label_zh": "未巡查天数",
                                    "counter": "patrol_days_missed", "count": 3, "points_each": D(2),
                                    "points": D("6.00")}


def test_worked_example_level_3_month():
    # A village, a month with 21 working days and a briefing on each.
    counters = {"received": 40, "handled": 40, "handled_on_time": 38, "reopened": 1,
                "meetings_required": 21, "meetings_held": 21}
    result = score(counters, 3, DEFAULT_RULES)
    # 处置率     40/40 = 1          x 30 = 30.00
    # 按期处置率 38/40 = 0.95       x 20 = 19.00
    # 返工率      1/40 = 0.025; 1 - = 0.975 x 20 = 19.50
    # 超期率      0/40 = 0;     1 - = 1     x 20 = 20.00
    # 延期率      0/40 = 0;     1 - = 1     x 10 = 10.00
    # subtotal 98.50; deductions: 0 missed briefings, 0 city, 0 public -> 98.50 优秀
    assert result.score == D("98.50") and result.grade == "优秀"
    assert contributions(result) == {"handling_rate": D("30.00"), "on_time_rate": D("19.00"),
                                     "rework_rate": D("19.50"), "overdue_rate": D("20.00"),
                                     "extension_rate": D("10.00")}
    assert points(result) == {"missed_meetings": D("0.00"), "found_by_city": D("0.00"),
                              "found_by_public": D("0.00")}


def test_worked_example_level_2_quarter():
    # A town, one quarter.
    counters = {"received": 120, "handled": 110, "handled_on_time": 99, "closed": 100, "reopened": 11,
                "overdue_open": 6, "extended": 12, "escalated": 9, "sla_breaches": 2,
                "meetings_required": 80, "meetings_held": 74, "inspections_required": 54, "inspections_done": 50,
                "found_by_public": 3, "found_by_city": 1, "found_by_patrol": 40}
    result = score(counters, 2, DEFAULT_RULES)
    # 处置率     110/120 = 0.91666... x 20 = 18.333... -> 18.33
    # 按期处置率  99/110 = 0.9        x 20 = 18.00
    # 结案率     100/120 = 0.8333...  x 10 =  8.333... ->  8.33
    # 返工率      11/110 = 0.1;  1 - = 0.9  x 20 = 18.00
    # 超期率       6/120 = 0.05; 1 - = 0.95 x 20 = 19.00
    # 延期率      12/120 = 0.1;  1 - = 0.9  x 10 =  9.00
    # subtotal 18.33 + 18 + 8.33 + 18 + 19 + 9 = 90.66
    # deductions: 80 - 74 = 6 missed meetings x 0.5 = 3.00; 54 - 50 = 4 missed inspections x 1 = 4.00;
    #             1 city x 2 = 2.00; 3 public x 1 = 3.00; total 12.00
    # score 90.66 - 12.00 = 78.66 -> 合格 (60 <= 78.66 < 80)
    assert result.score == D("78.66") and result.grade == "合格"
    assert result.subtotal == D("90.66")
    assert contributions(result) == {"handling_rate": D("18.33"), "on_time_rate": D("18.00"),
                                     "closure_rate": D("8.33"), "rework_rate": D("18.00"),
                                     "overdue_rate": D("19.00"), "extension_rate": D("9.00")}
    assert points(result) == {"missed_meetings": D("3.00"), "missed_inspections": D("4.00"),
                              "found_by_city": D("2.00"), "found_by_public": D("3.00")}


def test_the_explanation_adds_up_to_the_score():
    result = score({"received": 7, "handled": 5, "handled_on_time": 3, "reopened": 1, "days_in_period": 31,
                    "patrol_days": 30}, 4, DEFAULT_RULES)
    assert result.score == sum(contributions(result).values()) - sum(points(result).values())


def test_level_5_shares_level_4_rules_and_level_1_is_not_scored():
    counters = {"received": 3, "handled": 2, "days_in_period": 30, "patrol_days": 30}
    assert score(counters, 5, DEFAULT_RULES).score == score(counters, 4, DEFAULT_RULES).score
    with pytest.raises(LookupError, match="level 1"):
        score(counters, 1, DEFAULT_RULES)


def test_deductions_are_capped_and_the_score_never_goes_below_zero():
    # 30 days, no patrol: 30 x 2 = 60 capped at 20; 9 city x 2 = 18 capped at 10; 50 public capped at 10.
    result = score({"received": 10, "overdue_open": 10, "extended": 10, "days_in_period": 30,
                    "found_by_city": 9, "found_by_public": 50}, 4, DEFAULT_RULES)
    assert points(result) == {"missed_patrol_days": D("20.00"), "found_by_city": D("10.00"),
                              "found_by_public": D("10.00")}
    # rates: handled 0/10 -> 0; on time and rework 0/0 -> full (40); overdue 10/10 -> 0; extended -> 0
    assert result.subtotal == D("40.00")
    assert result.score == D("0.00") and result.grade == "不合格"


def test_as_dict_is_json_ready_without_floats():
    result = score({"received": 3, "handled": 1}, 3, DEFAULT_RULES)
    data = result.as_dict()
    assert data["score"] == str(result.score) and data["rule_version"] == 1
    assert isinstance(data["explanation"][0]["weight"], str)
    import json
    json.dumps(data)


# ---------------------------------------------------------------------------- no data

def test_a_grid_with_no_cases_gets_full_marks_for_every_rate_and_says_so():
    result = score({"days_in_period": 30, "patrol_days": 30}, 4, DEFAULT_RULES)
    assert result.score == D("100.00") and result.grade == "优秀"
    handling = result.explanation[0]
    assert handling["no_data"] is True and handling["rate"] is None and handling["value"] == D(1)
    assert handling["contribution"] == D("30.00") and handling["note"] == "无数据，按满分计"


def test_when_no_data_zero_gives_nothing():
    data = rules_with(version=2)
    data["levels"]["3"]["metrics"][0]["when_no_data"] = "zero"
    result = score({}, 3, RuleSet.from_dict(data))
    assert contributions(result)["handling_rate"] == D("0.00") and result.score == D("70.00")
    assert result.explanation[0]["note"] == "无数据，按零分计"


def test_a_positive_count_over_zero_is_a_full_rate():
    # A case received last month and handled this month: 1/0 handled counts as 100%;
    # an overdue case still open with nothing new received: 1/0 overdue, so no 超期 points.
    result = score({"handled": 1, "handled_on_time": 1, "overdue_open": 1}, 3, DEFAULT_RULES)
    assert contributions(result)["handling_rate"] == D("30.00")
    assert contributions(result)["overdue_rate"] == D("0.00")
    # More handled than received (carry-over) is clamped at 100%.
    assert score({"received": 2, "handled": 5}, 3, DEFAULT_RULES).explanation[0]["rate"] == D(1)


def test_a_cap_limits_a_metric_contribution():
    data = rules_with(version=3)
    data["levels"]["3"]["metrics"][0]["cap"] = 25
    result = score({"received": 10, "handled": 10}, 3, RuleSet.from_dict(data))
    assert contributions(result)["handling_rate"] == D("25.00")


# ---------------------------------------------------------------------------- validation

def test_weights_that_do_not_sum_to_the_total_name_the_level_and_the_sum():
    data = rules_with(version=2)
    data["levels"]["3"]["metrics"][0]["weight"] = 25
    with pytest.raises(ValueError, match=r"level 3: metric weights sum to 95, not the declared total 100"):
        RuleSet.from_dict(data)


def test_unknown_counters_in_rules_are_refused():
    data = rules_with(version=2)
    data["levels"]["4"]["metrics"][0]["numerator"] = "handeld"
    with pytest.raises(ValueError, match="level 4 metric 'handling_rate': unknown counter 'handeld'"):
        RuleSet.from_dict(data)
    data = rules_with(version=2)
    data["levels"]["4"]["deductions"][0]["counter"] = "patrols"
    with pytest.raises(ValueError, match="unknown counter 'patrols'"):
        RuleSet.from_dict(data)


def test_grade_thresholds_must_descend_and_end_at_zero():
    data = rules_with(grades=[{"grade": "优秀", "min": 80}, {"grade": "良好", "min": 90},
                              {"grade": "合格", "min": 60}, {"grade": "不合格", "min": 0}])
    with pytest.raises(ValueError, match="descend"):
        RuleSet.from_dict(data)
    data = rules_with(grades=[{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 80},
                              {"grade": "合格", "min": 60}, {"grade": "不合格", "min": 10}])
    with pytest.raises(ValueError, match="lowest grade must start at 0"):
        RuleSet.from_dict(data)


def test_every_grade_needs_a_subsidy_factor_and_the_base_is_integer_fen():
    data = rules_with(subsidy={"base_fen": 30000, "factors": {"优秀": "1.2", "良好": 1, "合格": "0.8"}})
    with pytest.raises(ValueError, match=r"missing \['不合格'\]"):
        RuleSet.from_dict(data)
    data = rules_with(subsidy={"base_fen": 300.5, "factors": DEFAULT_RULES_DATA["subsidy"]["factors"]})
    with pytest.raises(ValueError, match="integer number of fen"):
        RuleSet.from_dict(data)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["levels"]["3"]["metrics"][0].update(kind="ratio"), "kind must be one of"),
    (lambda d: d["levels"]["3"]["metrics"][0].update(wieght=1), "unknown keys"),
    (lambda d: d["levels"]["3"]["metrics"][0].update(cap=31), "cap must be between"),
    (lambda d: d["levels"]["3"]["metrics"][0].update(when_no_data="half"), "when_no_data"),
    (lambda d: d["levels"].update({"6": d["levels"]["4"]}), "levels are 1 to 5"),
    (lambda d: d["levels"].update({"5": {"same_as": 1}}), "no rules of its own"),
    (lambda d: d["flags"].append({"name": "x", "label_zh": "x", "kind": "grade_streak", "grade": "差",
                                  "periods": 2}), "unknown grade"),
    (lambda d: d["flags"].append({"name": "y", "label_zh": "y", "kind": "sometimes"}), "kind must be one of"),
    (lambda d: d.update(version=0), "version must be a positive integer"),
])
def test_malformed_rules_are_refused_with_a_reason(change, message):
    data = copy.deepcopy(DEFAULT_RULES_DATA)
    change(data)
    with pytest.raises(ValueError, match=message):
        RuleSet.from_dict(data)


def test_rules_round_trip_through_their_json_form():
    assert RuleSet.from_dict(DEFAULT_RULES.to_dict()) == DEFAULT_RULES
    assert DEFAULT_RULES.subsidy_factors["优秀"] == D("1.2")


def test_rule_versions_are_only_added():
    assert set(rules_by_version([rules_with(version=2)])) == {1, 2}
    with pytest.raises(ValueError, match="defined twice"):
        rules_by_version([rules_with(version=1)])


def test_counters_are_checked():
    with pytest.raises(ValueError, match="unknown counters"):
        score({"recieved": 3}, 3, DEFAULT_RULES)
    with pytest.raises(ValueError, match="computed, not given"):
        score({"meetings_missed": 3}, 3, DEFAULT_RULES)
    with pytest.raises(ValueError, match="non-negative integer"):
        score({"received": -1}, 3, DEFAULT_RULES)
    with pytest.raises(ValueError, match="non-negative integer"):
        score({"received": 2.0}, 3, DEFAULT_RULES)
    derived = counters_with_derived({"meetings_required": 5, "meetings_held": 7, "days_in_period": 30,
                                     "patrol_days": 28})
    assert derived["meetings_missed"] == 0 and derived["patrol_days_missed"] == 2 and derived["received"] == 0


# ---------------------------------------------------------------------------- ranking

def test_ties_share_a_rank_and_the_next_rank_skips():
    scores = {"A": D("95.00"), "B": D("90.00"), "C": D("90.00"), "D": D("80.00")}
    assert rank(scores) == {"A": 1, "B": 2, "C": 2, "D": 4}


def test_rank_accepts_results_and_an_empty_field():
    results = {code: score({"received": n, "handled": n - i}, 3, DEFAULT_RULES)
               for code, n, i in [("X", 10, 0), ("Y", 10, 5), ("Z", 20, 0)]}
    assert rank(results) == {"X": 1, "Z": 1, "Y": 3}
    assert rank({}) == {}


# ---------------------------------------------------------------------------- subsidies

@pytest.mark.parametrize("grade, expected", [("优秀", 36000), ("良好", 30000), ("合格", 24000), ("不合格", 0)])
def test_subsidy_is_integer_fen_for_every_grade(grade, expected):
    amount = subsidy_fen(grade, DEFAULT_RULES)
    assert amount == expected and type(amount) is int
    three = subsidy_fen(grade, DEFAULT_RULES, people=3)
    assert three == 3 * expected and type(three) is int


def test_subsidy_rounds_half_up_per_person():
    data = rules_with(version=2, subsidy={"base_fen": 30001, "factors": {"优秀": 0.5, "良好": "0.85",
                                                                          "合格": "0.3333", "不合格": 0}})
    rules = RuleSet.from_dict(data)
    assert subsidy_fen("优秀", rules) == 15001          # 15000.5 -> 15001 (half up, not half even)
    assert subsidy_fen("良好", rules) == 25501          # 25500.85 -> 25501
    assert subsidy_fen("合格", rules, people=2) == 2 * 9999  # 9999.3333 -> 9999 each
    assert all(type(subsidy_fen(g, rules, people=4)) is int for g in rules.subsidy_factors)


def test_subsidy_refuses_unknown_grades_and_odd_head_counts():
    with pytest.raises(ValueError):
        subsidy_fen("差", DEFAULT_RULES)
    with pytest.raises(ValueError):
        subsidy_fen("优秀", DEFAULT_RULES, people=1.5)


# ---------------------------------------------------------------------------- flags

def test_failing_twice_in_a_row_raises_a_flag_with_the_evidence():
    history = [{"period": "2026-Q2", "grade": "合格", "score": D("65.00")},
               {"period": "2026-Q3", "grade": "不合格", "score": D("55.00")},
               {"period": "2026-Q4", "grade": "不合格", "score": D("41.50")}]
    raised = flags(history, {}, DEFAULT_RULES)
    assert raised == [{"name": "failing_twice", "label_zh": "连续两期考核不合格",
                       "reason": "连续两期考核不合格：最近2期均为不合格",
                       "evidence": history[1:]}]


def test_failing_once_or_not_in_a_row_raises_nothing():
    assert flags([{"grade": "不合格"}], {}, DEFAULT_RULES) == []
    assert flags([{"grade": "不合格"}, {"grade": "合格"}, {"grade": "不合格"}], {}, DEFAULT_RULES) == []
    assert flags([], {}, DEFAULT_RULES) == []


def test_flags_read_results_too():
    bad = score({"received": 10, "overdue_open": 10, "extended": 10}, 3, DEFAULT_RULES)
    # 处置率 0, 按期 0/0 full 20, 返工 0/0 full 20, 超期 10/10 -> 0, 延期 10/10 -> 0: 40.00 不合格
    assert bad.score == D("40.00") and bad.grade == "不合格"
    raised = flags([bad, bad], {}, DEFAULT_RULES)
    assert [f["name"] for f in raised] == ["failing_twice"]
    assert raised[0]["evidence"] == [{"grade": "不合格", "score": D("40.00")}] * 2


def test_repeated_sla_breaches_raise_a_flag_from_three():
    assert flags([], {"sla_breaches": 2}, DEFAULT_RULES) == []
    raised = flags([{"grade": "良好"}], {"sla_breaches": 4}, DEFAULT_RULES)
    assert raised == [{"name": "repeated_breaches", "label_zh": "多次超时未处置",
                       "reason": "多次超时未处置：sla_breaches = 4（阈值 3）",
                       "evidence": {"counter": "sla_breaches", "value": 4, "min": 3}}]


# ---------------------------------------------------------------------------- compliance with the plan

OCTOBER = Period("month", 2026, 10)
# October 2026: 1-7 off (National Day), Saturday 10 a make-up working day. Working days:
# 8, 9, 10, 12-16, 19-23, 26-30 = 3 + 5 + 5 + 5 = 18.
OCTOBER_WORKDAYS = [date(2026, 10, d) for d in (8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23,
                                                 26, 27, 28, 29, 30)]


def test_level_3_needs_a_briefing_on_each_working_day_including_the_make_up_saturday():
    meetings = [("briefing", day) for day in OCTOBER_WORKDAYS if day != date(2026, 10, 10)]
    meetings += [("briefing", date(2026, 10, 3)), ("briefing", date(2026, 10, 11))]  # rest days: not counted
    meetings += [("briefing", date(2026, 10, 8))]  # a second one the same day: one slot
    result = compliance(3, OCTOBER, meetings, [])
    assert result == {"meetings_required": 18, "meetings_held": 17,
                      "inspections_required": 0, "inspections_done": 0}


def test_level_2_adds_a_topic_meeting_per_iso_week_overlapping_the_period():
    # ISO weeks overlapping October 2026: 28 Sep-4 Oct, 5-11, 12-18, 19-25, 26 Oct-1 Nov = 5,
    # each with a working day somewhere in it (28-30 Sep; 8-10 Oct; ...).
    assert meeting_window(OCTOBER) == (date(2026, 9, 28), date(2026, 11, 1))
    meetings = [("briefing", day) for day in OCTOBER_WORKDAYS]
    meetings += [("topic", date(2026, 9, 29)),   # counts for the week it shares with October
                 ("topic", date(2026, 10, 10)),  # the make-up Saturday
                 ("topic", date(2026, 10, 12)), ("topic", date(2026, 10, 13)),  # two in one week: one slot
                 ("topic", date(2026, 11, 1)),   # Sunday of the last overlapping week
                 ("joint", date(2026, 10, 20))]  # wrong kind for the week of 19-25
    result = compliance(2, OCTOBER, meetings, [])
    assert result["meetings_required"] == 5 + 18
    assert result["meetings_held"] == 4 + 18


def test_a_week_wholly_on_holiday_needs_no_topic_meeting():
    # Spring Festival 2026: 15-23 February off; the week of 16-22 February has no working day.
    february = Period("month", 2026, 2)
    weeks_required = compliance(2, february, [], [])["meetings_required"] - \
        compliance(3, february, [], [])["meetings_required"]
    # ISO weeks overlapping February 2026: 26 Jan-1 Feb, 2-8, 9-15, 16-22, 23 Feb-1 Mar; 16-22 is all rest days.
    assert weeks_required == 4


def test_level_1_needs_a_joint_meeting_each_month_and_an_emergency_meeting_does_not_replace_it():
    q4 = Period("quarter", 2026, 4)
    meetings = [("joint", date(2026, 10, 9)), ("joint", date(2026, 10, 20)), ("emergency", date(2026, 11, 3)),
                ("joint", date(2026, 12, 30)), ("joint", date(2027, 1, 2))]
    assert compliance(1, q4, meetings, [])["meetings_required"] == 3
    assert compliance(1, q4, meetings, [])["meetings_held"] == 2


def test_inspections_three_per_quarter_per_lower_grid_one_for_a_month():
    lower = ["T1", "T2"]
    inspections = [("T1", date(2026, 10, 9)), ("T1", date(2026, 11, 2)), ("T1", date(2026, 11, 20)),
                   ("T1", date(2026, 12, 1)),   # a fourth: does not make up for T2
                   ("T2", date(2026, 12, 5)),
                   ("T9", date(2026, 10, 9)),   # not a lower grid of this one: ignored
                   ("T2", date(2027, 1, 5))]    # outside the period: ignored
    q4 = compliance(1, Period("quarter", 2026, 4), [], inspections, lower_grids=lower)
    assert (q4["inspections_required"], q4["inspections_done"]) == (6, 3 + 1)
    november = compliance(2, Period("month", 2026, 11), [], inspections, lower_grids=lower)
    assert (november["inspections_required"], november["inspections_done"]) == (2, 1)
    # A year is four quarters of three: twelve inspections all in Q4 satisfy only Q4.
    year = compliance(2, Period("year", 2026), [], [("T1", date(2026, 12, d)) for d in range(1, 13)],
                      lower_grids=["T1"])
    assert (year["inspections_required"], year["inspections_done"]) == (12, 3)
    assert compliance(3, Period("quarter", 2026, 4), [], inspections, lower_grids=lower)["inspections_required"] == 0


def test_compliance_refuses_unknown_meeting_kinds_and_datetimes():
    with pytest.raises(ValueError, match="unknown meeting kind"):
        compliance(3, OCTOBER, [("party", date(2026, 10, 8))], [])
    with pytest.raises(ValueError, match="local date"):
        compliance(3, OCTOBER, [("briefing", datetime(2026, 10, 8, tzinfo=timezone.utc))], [])


def test_a_district_calendar_can_require_briefings_every_day():
    result = compliance(3, OCTOBER, [], [], is_workday=lambda day: True)
    assert result["meetings_required"] == 31


def test_compliance_counters_feed_the_score():
    meetings = [("briefing", day) for day in OCTOBER_WORKDAYS[:-2]]  # two missed
    counters = {"received": 10, "handled": 10, "handled_on_time": 10, **compliance(3, OCTOBER, meetings, [])}
    del counters["inspections_required"], counters["inspections_done"]
    result = score(counters, 3, DEFAULT_RULES)
    assert points(result)["missed_meetings"] == D("1.00") and result.score == D("99.00")


# ---------------------------------------------------------------------------- properties

_counts = st.integers(min_value=0, max_value=500)
_counters = st.fixed_dictionaries({name: _counts for name in COUNTERS})


@settings(max_examples=300)
@given(counters=_counters, level=st.sampled_from([2, 3, 4, 5]))
def test_the_score_is_always_between_zero_and_the_total(counters, level):
    result = score(counters, level, DEFAULT_RULES)
    assert isinstance(result, Result)
    assert D(0) <= result.score <= DEFAULT_RULES.total
    assert result.score == result.score.quantize(D("0.01"))
    assert result.grade == DEFAULT_RULES.grade_for(result.score)


@settings(max_examples=300)
@given(counters=_counters, level=st.sampled_from([2, 3, 4, 5]), a=_counts, b=_counts)
def test_more_cases_handled_on_time_never_lowers_the_score(counters, level, a, b):
    low, high = sorted((a, b))
    assert score({**counters, "handled_on_time": low}, level, DEFAULT_RULES).score <= \
        score({**counters, "handled_on_time": high}, level, DEFAULT_RULES).score


@settings(max_examples=200)
@given(counters=_counters, level=st.sampled_from([2, 3, 4, 5]))
def test_unless_floored_the_explanation_adds_up(counters, level):
    result = score(counters, level, DEFAULT_RULES)
    net = sum(contributions(result).values()) - sum(points(result).values())
    assert result.score == max(net, D(0))
