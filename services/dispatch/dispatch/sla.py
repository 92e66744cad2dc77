"""SLA clocks: how long a grid has to act on a case, and what happens when it does not.

A policy is versioned data: rules matched on (level, category, supervision,
emergency), each giving a duration in working days or natural hours, the
percentages at which to warn, and the breach action (escalate to the parent
grid, or flag to the supervisor). A case keeps the policy version it started
with. Working days follow the Chinese statutory calendar (with 调休 make-up
days) in Asia/Shanghai, overridable by the district. Plain data, no I/O.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Rule:
    level: int | None = None          # None: any level
    category: str | None = None       # None: any category
    supervision: str | None = None    # None: any; "general" | "urgent" | "important"
    emergency: bool | None = None     # None: either
    working_days: float | None = None  # exactly one of working_days / hours
    hours: float | None = None
    warn_at: tuple[float, ...] = (0.5, 0.75)
    breach: str = "escalate"          # "escalate" | "flag"

    def matches(self, level: int, category: str, supervision: str, emergency: bool) -> bool:
        return ((self.level is None or self.level == level) and
                (self.category is None or self.category == category) and
                (self.supervision is None or self.supervision == supervision) and
                (self.emergency is None or self.emergency == emergency))

    @property
    def specificity(self) -> int:
        # Emergency mode outranks supervision, which outranks category, which outranks level:
        # an urgent case at level 4 follows the urgent rule, not the level-4 one.
        return (8 * (self.emergency is not None) + 4 * (self.supervision is not None)
                + 2 * (self.category is not None) + (self.level is not None))


@dataclass(frozen=True)
class Policy:
    version: int
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def rule_for(self, level: int, category: str, supervision: str, emergency: bool) -> Rule:
        """The most specific matching rule (see Rule.specificity; ties: the first listed)."""
        candidates = [r for r in self.rules if r.matches(level, category, supervision, emergency)]
        if not candidates:
            raise LookupError(f"policy v{self.version} has no rule for level {level}, {category}")
        best = max(r.specificity for r in candidates)
        return next(r for r in candidates if r.specificity == best)


# Version 1, the district's starting point: the lower the grid, the shorter the time;
# the district itself flags rather than escalates (there is no level above it but the city).
DEFAULT_POLICY = Policy(version=1, rules=(
    Rule(level=5, working_days=1), Rule(level=4, working_days=1),
    Rule(level=3, working_days=2), Rule(level=2, working_days=3),
    Rule(level=1, working_days=5, breach="flag"),
    Rule(supervision="urgent", hours=24, warn_at=(0.5, 0.75)),
    Rule(level=1, supervision="urgent", hours=24, breach="flag"),
    Rule(emergency=True, hours=4, warn_at=(0.5,)),
    Rule(level=1, emergency=True, hours=4, warn_at=(0.5,), breach="flag"),
    Rule(category="air_quality_exceedance", level=2, hours=24),
))


def policy_from_dict(data: dict) -> Policy:
    """A policy from its JSON form: {"version": 2, "rules": [{"level": 4, "working_days": 1, ...}]}."""
    rules = []
    for item in data["rules"]:
        rule = Rule(**{**item, "warn_at": tuple(item.get("warn_at", (0.5, 0.75)))})
        if (rule.working_days is None) == (rule.hours is None):
            raise ValueError(f"policy v{data['version']}: a rule needs working_days or hours, not both: {item}")
        if rule.breach not in ("escalate", "flag"):
            raise ValueError(f"policy v{data['version']}: breach must be escalate or flag: {item}")
        rules.append(rule)
    return Policy(version=int(data["version"]), rules=tuple(rules))


def load_policies(path: str | None) -> dict[int, Policy]:
    """Every policy version: the built-in v1 plus those of the JSON file at `path` (a list of policies).

    Versions are only ever added: a case keeps the version it started with, so an
    old version must stay loadable as long as cases may refer to it.
    """
    policies = {DEFAULT_POLICY.version: DEFAULT_POLICY}
    if path:
        import json
        from pathlib import Path
        for item in json.loads(Path(path).read_text(encoding="utf-8")):
            policy = policy_from_dict(item)
            if policy.version in policies:
                raise ValueError(f"SLA policy version {policy.version} is defined twice")
            policies[policy.version] = policy
    return policies


@functools.lru_cache(maxsize=4096)  # a fixed fact per day, asked several times for every deadline
def statutory_workday(day: date) -> bool:
    """China's working days, with holidays and make-up working days (chinese_calendar);
    beyond the years it knows, Monday to Friday."""
    try:
        import chinese_calendar
        return chinese_calendar.is_workday(day)
    except (NotImplementedError, ImportError):
        return day.weekday() < 5


def calendar(overrides: dict[date, bool] | None = None) -> Callable[[date], bool]:
    """A workday test: the district's own overrides first, then the statutory calendar."""
    overrides = dict(overrides or {})
    return lambda day: overrides[day] if day in overrides else statutory_workday(day)


def add_working_days(start: datetime, days: float, is_workday: Callable[[date], bool]) -> datetime:
    """`days` working days after `start`, counted in Asia/Shanghai.

    Whole days move to the same clock time on the n-th following working day; a
    fraction adds that share of 24 hours on the last one. A start on a rest day
    counts from the start of the next working day.
    """
    local = start.astimezone(SHANGHAI)
    if not is_workday(local.date()):
        day = local.date()
        while not is_workday(day):
            day += timedelta(days=1)
        local = datetime.combine(day, datetime.min.time(), SHANGHAI)
    whole, fraction = int(days), days - int(days)
    day = local.date()
    for _ in range(whole):
        day += timedelta(days=1)
        while not is_workday(day):
            day += timedelta(days=1)
    result = datetime.combine(day, local.timetz().replace(tzinfo=None), SHANGHAI) + timedelta(days=fraction)
    return result.astimezone(start.tzinfo)


def deadline(start: datetime, rule: Rule, is_workday: Callable[[date], bool]) -> datetime:
    if rule.hours is not None:
        return start + timedelta(hours=rule.hours)
    return add_working_days(start, rule.working_days, is_workday)


def timers(start: datetime, due: datetime, rule: Rule) -> list[tuple[str, datetime]]:
    """(kind, when) of the warnings and the breach between `start` and `due`."""
    span = due - start
    marks = [(f"warn_{int(round(p * 100))}", start + span * p) for p in rule.warn_at if 0 < p < 1]
    return marks + [("breach", due)]


def shift(moments: list[datetime], paused_for: timedelta) -> list[datetime]:
    """A clock paused for `paused_for` (an extension request waiting): everything moves later."""
    return [m + paused_for for m in moments]
