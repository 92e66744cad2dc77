"""SLA arithmetic: policies, working days across holidays, warnings, pauses."""
from datetime import date, datetime, timedelta, timezone

from dispatch.sla import DEFAULT_POLICY, SHANGHAI, Policy, Rule, add_working_days, calendar, deadline, shift, timers


def local(*args):
    return datetime(*args, tzinfo=SHANGHAI)


def test_a_working_day_skips_the_weekend():
    friday = local(2026, 11, 27, 10, 0)
    assert add_working_days(friday, 1, calendar()) == local(2026, 11, 30, 10, 0)  # Monday


def test_the_national_day_holiday_and_its_make_up_day_are_respected():
    # 2026: 1-7 October off; Saturday 10 October is a make-up working day.
    before = local(2026, 9, 30, 9, 0)
    assert add_working_days(before, 1, calendar()) == local(2026, 10, 8, 9, 0)
    assert add_working_days(local(2026, 10, 9, 9, 0), 1, calendar()) == local(2026, 10, 10, 9, 0)


def test_a_start_on_a_rest_day_counts_from_the_next_working_day():
    sunday = local(2026, 11, 29, 15, 0)
    assert add_working_days(sunday, 1, calendar()) == local(2026, 12, 1, 0, 0)


def test_district_overrides_beat_the_statutory_calendar():
    friday = local(2026, 11, 27, 10, 0)
    with_saturday = calendar({date(2026, 11, 28): True})
    assert add_working_days(friday, 1, with_saturday) == local(2026, 11, 28, 10, 0)


def test_deadlines_are_computed_in_shanghai_and_returned_in_the_start_zone():
    start = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)  # Friday 23:00 in Shanghai
    due = deadline(start, Rule(working_days=1), calendar())
    assert due == datetime(2026, 11, 30, 15, 0, tzinfo=timezone.utc) and due.tzinfo == timezone.utc  # Mon 23:00


def test_the_most_specific_rule_wins():
    assert DEFAULT_POLICY.rule_for(4, "catering_fumes", "general", False).working_days == 1
    assert DEFAULT_POLICY.rule_for(4, "catering_fumes", "urgent", False).hours == 24
    assert DEFAULT_POLICY.rule_for(4, "catering_fumes", "general", True).hours == 4
    assert DEFAULT_POLICY.rule_for(1, "x", "general", False).breach == "flag"
    assert DEFAULT_POLICY.rule_for(2, "air_quality_exceedance", "general", False).hours == 24


def test_warnings_fall_at_their_share_of_the_time():
    start = datetime(2026, 11, 28, 0, 0, tzinfo=timezone.utc)
    marks = timers(start, start + timedelta(hours=8), Rule(hours=8, warn_at=(0.5, 0.75)))
    assert marks == [("warn_50", start + timedelta(hours=4)), ("warn_75", start + timedelta(hours=6)),
                     ("breach", start + timedelta(hours=8))]


def test_a_pause_moves_every_timer_later_by_its_length():
    start = datetime(2026, 11, 28, tzinfo=timezone.utc)
    assert shift([start, start + timedelta(hours=1)], timedelta(hours=3)) == [
        start + timedelta(hours=3), start + timedelta(hours=4)]


def test_a_policy_without_a_matching_rule_says_so():
    import pytest
    with pytest.raises(LookupError):
        Policy(version=9, rules=(Rule(level=4, hours=1),)).rule_for(3, "x", "general", False)


def test_policies_load_from_json_and_refuse_ambiguous_rules(tmp_path):
    import json
    import pytest
    from dispatch.sla import load_policies
    path = tmp_path / "sla.json"
    path.write_text(json.dumps([{"version": 2, "rules": [{"level": 4, "hours": 2, "warn_at": [0.5]},
                                                          {"hours": 8, "breach": "flag"}]}]))
    policies = load_policies(str(path))
    assert sorted(policies) == [1, 2] and policies[2].rule_for(4, "x", "general", False).hours == 2
    path.write_text(json.dumps([{"version": 3, "rules": [{"level": 4, "hours": 2, "working_days": 1}]}]))
    with pytest.raises(ValueError, match="not both"):
        load_policies(str(path))
    path.write_text(json.dumps([{"version": 1, "rules": [{"hours": 1}]}]))
    with pytest.raises(ValueError, match="twice"):
        load_policies(str(path))
