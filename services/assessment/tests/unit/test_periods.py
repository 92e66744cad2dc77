"""Assessment periods: Shanghai months, quarters and years; keys; boundaries across the UTC offset."""
from datetime import date, datetime, timedelta, timezone

import pytest

from assessment import periods
from assessment.periods import SHANGHAI, Period, days, ended, months_of, parse, period_of


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def test_keys_are_canonical_for_each_kind():
    assert Period("month", 2026, 11).key == "2026-11"
    assert Period("month", 2026, 3).key == "2026-03"
    assert Period("quarter", 2026, 4).key == "2026-Q4"
    assert Period("year", 2026).key == "2026"
    assert str(Period("quarter", 2027, 1)) == "2027-Q1"


@pytest.mark.parametrize("key", ["2026-11", "2026-01", "2026-Q1", "2026-Q4", "2026"])
def test_parse_reads_back_every_key(key):
    assert parse(key).key == key


@pytest.mark.parametrize("key", ["2026-13", "2026-00", "2026-Q5", "2026-Q0", "2026-1", "2026-q4", "26-11",
                                 "2026-11-01", "", "2026 ", None])
def test_parse_refuses_anything_else(key):
    with pytest.raises(ValueError):
        parse(key)


@pytest.mark.parametrize("kind, year, number", [("month", 2026, 13), ("quarter", 2026, 5), ("year", 2026, 2),
                                                ("week", 2026, 1), ("month", 2026, 0)])
def test_invalid_periods_are_refused(kind, year, number):
    with pytest.raises(ValueError):
        Period(kind, year, number)


def test_a_case_closed_at_17_utc_on_30_november_belongs_to_december():
    # 2026-11-30T17:00Z is 2026-12-01 01:00 in Shanghai (UTC+8).
    moment = utc(2026, 11, 30, 17, 0)
    assert period_of(moment, "month") == Period("month", 2026, 12)
    assert period_of(moment, "quarter") == Period("quarter", 2026, 4)
    assert period_of(utc(2026, 11, 30, 15, 59, 59), "month") == Period("month", 2026, 11)  # 23:59:59 local


def test_the_new_year_starts_at_16_utc_on_31_december():
    assert period_of(utc(2026, 12, 31, 15, 59, 59), "year") == Period("year", 2026)
    assert period_of(utc(2026, 12, 31, 16, 0), "year") == Period("year", 2027)
    assert period_of(utc(2026, 12, 31, 16, 0), "quarter") == Period("quarter", 2027, 1)
    assert period_of(utc(2026, 12, 31, 16, 0), "month") == Period("month", 2027, 1)


def test_period_of_works_from_any_aware_zone_and_refuses_naive_datetimes():
    local = datetime(2026, 7, 1, 0, 0, tzinfo=SHANGHAI)
    assert period_of(local, "quarter") == Period("quarter", 2026, 3)
    assert period_of(local - timedelta(seconds=1), "quarter") == Period("quarter", 2026, 2)
    with pytest.raises(ValueError):
        period_of(datetime(2026, 7, 1), "month")
    with pytest.raises(ValueError):
        period_of(local, "week")


def test_start_and_end_are_local_midnights_in_utc_half_open():
    november = Period("month", 2026, 11)
    assert november.start == utc(2026, 10, 31, 16, 0)
    assert november.end == utc(2026, 11, 30, 16, 0)
    assert november.start.tzinfo == timezone.utc
    assert november.contains(utc(2026, 10, 31, 16, 0))
    assert not november.contains(utc(2026, 10, 31, 15, 59, 59))
    assert november.contains(utc(2026, 11, 30, 15, 59, 59))
    assert not november.contains(utc(2026, 11, 30, 16, 0))
    with pytest.raises(ValueError):
        november.contains(datetime(2026, 11, 15))


def test_quarters_and_years_span_their_months():
    q4 = Period("quarter", 2026, 4)
    assert (q4.first_day, q4.last_day) == (date(2026, 10, 1), date(2026, 12, 31))
    assert q4.start == utc(2026, 9, 30, 16, 0) and q4.end == utc(2026, 12, 31, 16, 0)
    assert [m.key for m in months_of(q4)] == ["2026-10", "2026-11", "2026-12"]
    year = Period("year", 2026)
    assert [m.key for m in months_of(year)] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert [q.key for q in periods.quarters_of(year)] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert months_of(Period("month", 2026, 5)) == [Period("month", 2026, 5)]
    assert Period("quarter", 2026, 1).start == Period("year", 2026).start == Period("month", 2026, 1).start


def test_days_counts_calendar_days_including_leap_years():
    assert days(Period("month", 2026, 11)) == 30
    assert days(Period("month", 2026, 2)) == 28
    assert days(Period("month", 2028, 2)) == 29
    assert days(Period("quarter", 2026, 1)) == 90
    assert days(Period("quarter", 2026, 4)) == 92
    assert days(Period("year", 2026)) == 365
    assert days(Period("year", 2028)) == 366
    assert len(list(periods.local_dates(Period("month", 2026, 11)))) == 30


def test_a_period_ends_at_its_exclusive_end():
    november = Period("month", 2026, 11)
    assert not ended(november, utc(2026, 11, 30, 15, 59))
    assert ended(november, utc(2026, 11, 30, 16, 0))
    with pytest.raises(ValueError):
        ended(november, datetime(2026, 12, 5))


def test_previous_and_following_cross_year_boundaries():
    assert periods.previous(Period("month", 2027, 1)) == Period("month", 2026, 12)
    assert periods.previous(Period("quarter", 2027, 1)) == Period("quarter", 2026, 4)
    assert periods.previous(Period("year", 2027)) == Period("year", 2026)
    assert periods.following(Period("quarter", 2026, 4)) == Period("quarter", 2027, 1)


def test_period_of_day_uses_the_local_date():
    assert periods.period_of_day(date(2026, 12, 1), "month") == Period("month", 2026, 12)


def test_working_days_follow_the_national_day_holiday_and_its_make_up_day():
    # 2026: 1-7 October off; Saturday 10 October is a make-up working day, Sunday 11 is not.
    week = periods.working_days(date(2026, 10, 5), date(2026, 10, 11))
    assert week == [date(2026, 10, 8), date(2026, 10, 9), date(2026, 10, 10)]


def test_working_days_fall_back_to_monday_to_friday_beyond_the_known_calendar():
    # chinese_calendar knows no holidays for 2100: Monday to Friday.
    week = periods.working_days(date(2100, 10, 4), date(2100, 10, 10))  # Monday to Sunday
    assert len(week) == 5 and all(d.weekday() < 5 for d in week)


def test_a_workday_calendar_asks_each_day_of_its_range_once_and_others_as_they_come():
    asked = []

    def statutory(day):
        asked.append(day)
        return periods.statutory_workday(day)
    calendar = periods.workday_calendar(date(2026, 9, 28), date(2026, 11, 1), statutory)
    assert len(asked) == 35
    october = Period("month", 2026, 10)
    for _ in range(3):  # as compliance asks, for every grid of the period
        assert periods.working_days(october.first_day, october.last_day, calendar) == \
            periods.working_days(october.first_day, october.last_day)
    assert len(asked) == 35
    assert calendar(date(2026, 12, 25)) is True and asked[-1] == date(2026, 12, 25)  # outside: asked then
