"""Assessment periods: months, quarters and years in Asia/Shanghai, and working days.

A period is half-open, [start, end): it starts at local midnight on its first
day and ends at local midnight on the day after its last, both given as aware
UTC datetimes. A case closed at 2026-11-30T17:00Z is closed at 01:00 on
1 December in Shanghai and so belongs to December.

Keys are canonical and sort within a kind: "2026-11" (month), "2026-Q4"
(quarter), "2026" (year). Working days follow China's statutory calendar with
its make-up days (chinese_calendar); beyond the years it knows, Monday to
Friday. Plain data, no I/O.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
KINDS = ("month", "quarter", "year")
_NUMBERS = {"month": 12, "quarter": 4, "year": 1}
_KEY = re.compile(r"^(\d{4})(?:-(\d{2})|-Q(\d))?$")


@dataclass(frozen=True)
class Period:
    """A month (number 1-12), quarter (1-4) or year (number 1) of the Shanghai calendar."""
    kind: str
    year: int
    number: int = 1

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"period kind must be one of {KINDS}, not {self.kind!r}")
        if not 1 <= self.year <= 9998:
            raise ValueError(f"period year out of range: {self.year}")
        if not 1 <= self.number <= _NUMBERS[self.kind]:
            raise ValueError(f"a {self.kind} is numbered 1 to {_NUMBERS[self.kind]}, not {self.number}")

    @property
    def key(self) -> str:
        if self.kind == "month":
            return f"{self.year:04d}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year:04d}-Q{self.number}"
        return f"{self.year:04d}"

    def __str__(self) -> str:
        return self.key

    @property
    def first_day(self) -> date:
        """The first local (Shanghai) date of the period."""
        if self.kind == "month":
            return date(self.year, self.number, 1)
        if self.kind == "quarter":
            return date(self.year, 3 * (self.number - 1) + 1, 1)
        return date(self.year, 1, 1)

    @property
    def last_day(self) -> date:
        """The last local (Shanghai) date of the period (inclusive)."""
        return following(self).first_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """Local midnight of the first day, as an aware UTC datetime (inclusive)."""
        return _utc_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        """Local midnight after the last day, as an aware UTC datetime (exclusive)."""
        return _utc_midnight(self.last_day + timedelta(days=1))

    def contains(self, moment: datetime) -> bool:
        """Whether an aware moment falls in [start, end). A naive datetime is refused."""
        _require_aware(moment)
        return self.start <= moment < self.end


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI).astimezone(timezone.utc)


def _require_aware(moment: datetime) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"an aware datetime is required, not {moment!r}")


def period_of(moment: datetime, kind: str) -> Period:
    """The period of `kind` that an aware moment falls in, by its Shanghai local date."""
    _require_aware(moment)
    local = moment.astimezone(SHANGHAI).date()
    if kind == "month":
        return Period("month", local.year, local.month)
    if kind == "quarter":
        return Period("quarter", local.year, (local.month - 1) // 3 + 1)
    if kind == "year":
        return Period("year", local.year)
    raise ValueError(f"period kind must be one of {KINDS}, not {kind!r}")


def period_of_day(day: date, kind: str) -> Period:
    """The period of `kind` containing a local (Shanghai) date."""
    return period_of(datetime.combine(day, time(12), SHANGHAI), kind)


def parse(key: str) -> Period:
    """A period from its canonical key: "2026-11", "2026-Q4" or "2026"; anything else is a ValueError."""
    match = _KEY.match(key) if isinstance(key, str) else None
    if not match:
        raise ValueError(f"not a period key (expected 2026-11, 2026-Q4 or 2026): {key!r}")
    year, month, quarter = match.groups()
    if month is not None:
        return Period("month", int(year), int(month))
    if quarter is not None:
        return Period("quarter", int(year), int(quarter))
    return Period("year", int(year))


def days(period: Period) -> int:
    """The number of calendar days in the period."""
    return (period.last_day - period.first_day).days + 1


def local_dates(period: Period) -> Iterator[date]:
    """Every local date of the period, in order."""
    day = period.first_day
    while day <= period.last_day:
        yield day
        day += timedelta(days=1)


def months_of(period: Period) -> list[Period]:
    """The months of a quarter or year, in order (a month is its own only month)."""
    if period.kind == "month":
        return [period]
    first = period.first_day.month
    count = 3 if period.kind == "quarter" else 12
    return [Period("month", period.year, m) for m in range(first, first + count)]


def quarters_of(period: Period) -> list[Period]:
    """The quarters of a year, in order (a quarter is its own only quarter); a month has none."""
    if period.kind == "year":
        return [Period("quarter", period.year, q) for q in range(1, 5)]
    if period.kind == "quarter":
        return [period]
    raise ValueError(f"a month has no quarters: {period.key}")


def following(period: Period) -> Period:
    """The next period of the same kind."""
    if period.number < _NUMBERS[period.kind]:
        return Period(period.kind, period.year, period.number + 1)
    return Period(period.kind, period.year + 1, 1)


def previous(period: Period) -> Period:
    """The period of the same kind just before this one."""
    if period.number > 1:
        return Period(period.kind, period.year, period.number - 1)
    return Period(period.kind, period.year - 1, _NUMBERS[period.kind])


def ended(period: Period, now: datetime) -> bool:
    """Whether the period is over at the aware moment `now` (now >= end)."""
    _require_aware(now)
    return now >= period.end


def statutory_workday(day: date) -> bool:
    """China's working days, with holidays and make-up working days (chinese_calendar);
    beyond the years it knows, or without it, Monday to Friday."""
    try:
        import chinese_calendar
        return chinese_calendar.is_workday(day)
    except (NotImplementedError, ImportError):
        return day.weekday() < 5


def working_days(first: date, last: date, is_workday: Callable[[date], bool] = statutory_workday) -> list[date]:
    """The working days from `first` to `last`, both included."""
    result, day = [], first
    while day <= last:
        if is_workday(day):
            result.append(day)
        day += timedelta(days=1)
    return result


def workday_calendar(first: date, last: date,
                     is_workday: Callable[[date], bool] = statutory_workday) -> Callable[[date], bool]:
    """`is_workday` asked once for each day from `first` to `last` (both included) and remembered:
    a calendar for code that asks about the same days again and again (compliance, for every grid
    of a period). A day outside the range is asked of `is_workday` when it comes."""
    known = {day: is_workday(day) for day in _dates(first, last)}

    def workday(day: date) -> bool:
        found = known.get(day)
        return is_workday(day) if found is None else found
    return workday


def _dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
