"""Assessment scoring on plain data: counters in, score, grade, explanation, subsidy and flags out.

The district's own assessment and accountability rules (附件4, 附件5) are not
in the plan, so the rules are versioned data (`RuleSet`), interpreted here.
A published score keeps the `rule_version` it was computed with; versions are
only ever added.

Arithmetic is decimal, never binary floating point:
- a rate is numerator / denominator, clamped to [0, 1]. 0/0 is "no data" and
  scores as the metric's `when_no_data` says ("full": the whole weight,
  "zero": nothing); a positive numerator over 0 counts as a rate of 1 (a case
  handled this month that came in last month still counts as handled; an
  overdue case still open in a month with no new cases is a 100% overdue rate).
- a metric contributes weight x value, where value is the rate ("rate") or
  1 - rate ("inverse_rate"), capped at `cap` if given, rounded half up to 0.01.
- a deduction takes points_each x count, capped at `max_points`, rounded half
  up to 0.01.
- the score is the sum of the rounded contributions minus the rounded
  deductions, never below 0, as a Decimal with two places: the explanation
  always adds up to the score exactly.
- money is integer fen; a per-person subsidy is rounded half up to the fen.

Rule data may give numbers as int, str or (from JSON) float; a float is read
through its shortest repr (1.2 -> Decimal("1.2")), so no binary noise gets in.
"""
from __future__ import annotations

from collections import Counter as _Tally
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Mapping

from . import periods
from .periods import Period

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")

# The counters the service keeps per grid and period (plain ints, missing ones are 0).
COUNTERS: dict[str, str] = {
    "received": "cases assigned to the grid in the period",
    "handled": "cases the grid handled (disposed of, including stopped on the spot) in the period",
    "handled_on_time": "of those handled, how many before their SLA due time",
    "closed": "cases of the grid closed (销号) in the period",
    "escalated": "cases the grid passed up to its parent in the period",
    "reopened": "cases reopened after failed verification (返工, rework) in the period",
    "extended": "cases of the grid granted an extension (延期) in the period",
    "overdue_open": "cases of the grid still open and past their due time at the end of the period",
    "sla_breaches": "SLA breaches (deadline passed) on the grid's cases in the period",
    "found_by_public": "problems in the grid first reported by the public",
    "found_by_city": "problems in the grid first found by the city (or district) rather than the grid",
    "found_by_patrol": "problems found by the grid's own patrols",
    "patrol_days": "local days of the period with at least one patrol (level 4/5)",
    "days_in_period": "days of the period (periods.days), or days elapsed for a running period",
    "meetings_required": "meeting slots required by the plan (see compliance())",
    "meetings_held": "of those slots, how many were met (see compliance())",
    "inspections_required": "inspections of lower grids required by the plan (see compliance())",
    "inspections_done": "of those, how many were done (see compliance())",
}
# Computed from the counters above; rules may refer to them, callers never supply them.
DERIVED: dict[str, tuple[str, str]] = {
    "meetings_missed": ("meetings_required", "meetings_held"),
    "inspections_missed": ("inspections_required", "inspections_done"),
    "patrol_days_missed": ("days_in_period", "patrol_days"),
}
KNOWN_COUNTERS = frozenset(COUNTERS) | frozenset(DERIVED)

METRIC_KINDS = ("rate", "inverse_rate")
NO_DATA = ("full", "zero")
FLAG_KINDS = ("grade_streak", "counter_at_least")
LEVELS = (1, 2, 3, 4, 5)


# ---------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class Metric:
    name: str
    label_zh: str
    kind: str                 # "rate" | "inverse_rate"
    numerator: str
    denominator: str
    weight: Decimal
    cap: Decimal | None = None   # the most this metric may contribute (<= weight)
    when_no_data: str = "full"   # 0/0: "full" (the whole weight, or the cap) | "zero"


@dataclass(frozen=True)
class Deduction:
    name: str
    label_zh: str
    counter: str
    points_each: Decimal
    max_points: Decimal | None = None   # None: uncapped (the score still stops at 0)


@dataclass(frozen=True)
class LevelRules:
    metrics: tuple[Metric, ...]
    deductions: tuple[Deduction, ...] = ()


@dataclass(frozen=True)
class GradeBand:
    grade: str
    min: Decimal


@dataclass(frozen=True)
class FlagRule:
    """`grade_streak`: the last `periods` results all have `grade`.
    `counter_at_least`: this period's `counter` >= `min`."""
    name: str
    label_zh: str
    kind: str
    grade: str | None = None
    periods: int | None = None
    counter: str | None = None
    min: int | None = None


@dataclass(frozen=True)
class RuleSet:
    version: int
    total: Decimal
    levels: Mapping[int, LevelRules]
    grades: tuple[GradeBand, ...]
    subsidy_base_fen: int
    subsidy_factors: Mapping[str, Decimal]
    flags: tuple[FlagRule, ...] = ()
    source: str = ""
    same_as: Mapping[int, int] = field(default_factory=dict)   # level -> level whose rules it shares

    def for_level(self, level: int) -> LevelRules:
        if level not in self.levels:
            raise LookupError(f"scoring rules v{self.version} have no rules for level {level}")
        return self.levels[level]

    def grade_for(self, score: Decimal) -> str:
        """The first band (highest first) whose minimum the score reaches."""
        return next(band.grade for band in self.grades if score >= band.min)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSet:
        """A validated rule set from its JSON form (see DEFAULT_RULES_DATA); ValueError says what is wrong."""
        return _parse_rules(data)

    def to_dict(self) -> dict:
        """The JSON form: from_dict(to_dict()) == self. Non-integral numbers are strings."""
        levels: dict[str, Any] = {}
        for level, rules in sorted(self.levels.items()):
            if level in self.same_as:
                levels[str(level)] = {"same_as": self.same_as[level]}
                continue
            levels[str(level)] = {
                "metrics": [_drop_none({"name": m.name, "label_zh": m.label_zh, "kind": m.kind,
                                        "numerator": m.numerator, "denominator": m.denominator,
                                        "weight": _num(m.weight), "cap": _num(m.cap),
                                        "when_no_data": m.when_no_data}) for m in rules.metrics],
                "deductions": [_drop_none({"name": d.name, "label_zh": d.label_zh, "counter": d.counter,
                                           "points_each": _num(d.points_each), "max_points": _num(d.max_points)})
                               for d in rules.deductions],
            }
        return {
            "version": self.version, "total": _num(self.total), "source": self.source, "levels": levels,
            "grades": [{"grade": g.grade, "min": _num(g.min)} for g in self.grades],
            "subsidy": {"base_fen": self.subsidy_base_fen,
                        "factors": {k: _num(v) for k, v in self.subsidy_factors.items()}},
            "flags": [_drop_none({"name": f.name, "label_zh": f.label_zh, "kind": f.kind, "grade": f.grade,
                                  "periods": f.periods, "counter": f.counter, "min": f.min}) for f in self.flags],
        }


def _num(value: Decimal | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else str(value)


def _drop_none(item: dict) -> dict:
    return {k: v for k, v in item.items() if v is not None}


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValueError(f"{what} must be a number, not {value!r}")
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError:
        raise ValueError(f"{what} must be a number, not {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return result


def _only(item: Mapping, allowed: set[str], required: set[str], what: str) -> None:
    if not isinstance(item, Mapping):
        raise ValueError(f"{what} must be an object, not {item!r}")
    unknown = set(item) - allowed
    if unknown:
        raise ValueError(f"{what}: unknown keys {sorted(unknown)}")
    missing = required - set(item)
    if missing:
        raise ValueError(f"{what}: missing keys {sorted(missing)}")


def _counter(name: Any, what: str) -> str:
    if name not in KNOWN_COUNTERS:
        raise ValueError(f"{what}: unknown counter {name!r} (known: {sorted(KNOWN_COUNTERS)})")
    return name


def _parse_rules(data: Mapping[str, Any]) -> RuleSet:
    _only(data, {"version", "total", "source", "levels", "grades", "subsidy", "flags"},
          {"version", "total", "levels", "grades", "subsidy"}, "scoring rules")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"scoring rules: version must be a positive integer, not {version!r}")
    where = f"scoring rules v{version}"
    total = _decimal(data["total"], f"{where}: total")
    if total <= 0:
        raise ValueError(f"{where}: total must be positive, not {total}")

    # Levels: each its own metrics and deductions, or {"same_as": another level}.
    raw_levels = data["levels"]
    if not isinstance(raw_levels, Mapping) or not raw_levels:
        raise ValueError(f"{where}: levels must be a non-empty object keyed by level")
    levels: dict[int, LevelRules] = {}
    same_as: dict[int, int] = {}
    for key, body in raw_levels.items():
        level = _level(key, where)
        if isinstance(body, Mapping) and "same_as" in body:
            _only(body, {"same_as"}, {"same_as"}, f"{where}: level {level}")
            same_as[level] = _level(body["same_as"], where)
        else:
            levels[level] = _parse_level(body, level, total, where)
    for level, other in same_as.items():
        if other not in levels:
            raise ValueError(f"{where}: level {level} is the same as level {other}, which has no rules of its own")
        levels[level] = levels[other]

    grades = _parse_grades(data["grades"], where)
    grade_names = [g.grade for g in grades]

    subsidy = data["subsidy"]
    _only(subsidy, {"base_fen", "factors"}, {"base_fen", "factors"}, f"{where}: subsidy")
    base = subsidy["base_fen"]
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise ValueError(f"{where}: subsidy base_fen must be a non-negative integer number of fen, not {base!r}")
    factors_raw = subsidy["factors"]
    if not isinstance(factors_raw, Mapping):
        raise ValueError(f"{where}: subsidy factors must be an object keyed by grade")
    missing = [g for g in grade_names if g not in factors_raw]
    extra = [g for g in factors_raw if g not in grade_names]
    if missing or extra:
        raise ValueError(f"{where}: subsidy factors must cover exactly the grades {grade_names}"
                         f" (missing {missing}, unknown {extra})")
    factors = {g: _decimal(factors_raw[g], f"{where}: subsidy factor for {g}") for g in grade_names}
    if any(f < 0 for f in factors.values()):
        raise ValueError(f"{where}: subsidy factors must not be negative")

    flags = tuple(_parse_flag(item, grade_names, where) for item in data.get("flags", ()))
    names = [f.name for f in flags]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: flag names must be unique: {names}")

    return RuleSet(version=version, total=total, levels=levels, grades=grades, subsidy_base_fen=base,
                   subsidy_factors=factors, flags=flags, source=str(data.get("source", "")), same_as=same_as)


def _level(key: Any, where: str) -> int:
    try:
        level = int(key)
    except (TypeError, ValueError):
        level = None
    if isinstance(key, bool) or level not in LEVELS or str(level) != str(key):
        raise ValueError(f"{where}: levels are 1 to 5, not {key!r}")
    return level


def _parse_level(body: Any, level: int, total: Decimal, where: str) -> LevelRules:
    here = f"{where}: level {level}"
    _only(body, {"metrics", "deductions"}, {"metrics"}, here)
    metrics = []
    for item in body["metrics"]:
        _only(item, {"name", "label_zh", "kind", "numerator", "denominator", "weight", "cap", "when_no_data"},
              {"name", "label_zh", "kind", "numerator", "denominator", "weight"}, f"{here} metric")
        what = f"{here} metric {item['name']!r}"
        if item["kind"] not in METRIC_KINDS:
            raise ValueError(f"{what}: kind must be one of {METRIC_KINDS}, not {item['kind']!r}")
        weight = _decimal(item["weight"], f"{what}: weight")
        if weight < 0:
            raise ValueError(f"{what}: weight must not be negative")
        cap = _decimal(item["cap"], f"{what}: cap") if item.get("cap") is not None else None
        if cap is not None and not 0 <= cap <= weight:
            raise ValueError(f"{what}: cap must be between 0 and the weight {weight}, not {cap}")
        when_no_data = item.get("when_no_data", "full")
        if when_no_data not in NO_DATA:
            raise ValueError(f"{what}: when_no_data must be one of {NO_DATA}, not {when_no_data!r}")
        metrics.append(Metric(name=item["name"], label_zh=item["label_zh"], kind=item["kind"],
                              numerator=_counter(item["numerator"], what),
                              denominator=_counter(item["denominator"], what),
                              weight=weight, cap=cap, when_no_data=when_no_data))
    if not metrics:
        raise ValueError(f"{here}: at least one metric is needed")
    weights = sum((m.weight for m in metrics), Decimal(0))
    if weights != total:
        raise ValueError(f"{here}: metric weights sum to {weights}, not the declared total {total}")

    deductions = []
    for item in body.get("deductions", ()):
        _only(item, {"name", "label_zh", "counter", "points_each", "max_points"},
              {"name", "label_zh", "counter", "points_each"}, f"{here} deduction")
        what = f"{here} deduction {item['name']!r}"
        points = _decimal(item["points_each"], f"{what}: points_each")
        cap = _decimal(item["max_points"], f"{what}: max_points") if item.get("max_points") is not None else None
        if points < 0 or (cap is not None and cap < 0):
            raise ValueError(f"{what}: points must not be negative")
        deductions.append(Deduction(name=item["name"], label_zh=item["label_zh"],
                                    counter=_counter(item["counter"], what), points_each=points, max_points=cap))
    names = [m.name for m in metrics] + [d.name for d in deductions]
    if len(set(names)) != len(names):
        raise ValueError(f"{here}: metric and deduction names must be unique: {names}")
    return LevelRules(metrics=tuple(metrics), deductions=tuple(deductions))


def _parse_grades(raw: Any, where: str) -> tuple[GradeBand, ...]:
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ValueError(f"{where}: grades must be a non-empty list, highest first")
    bands = []
    for item in raw:
        _only(item, {"grade", "min"}, {"grade", "min"}, f"{where}: grade")
        bands.append(GradeBand(grade=item["grade"], min=_decimal(item["min"], f"{where}: grade {item['grade']} min")))
    for higher, lower in zip(bands, bands[1:]):
        if not higher.min > lower.min:
            raise ValueError(f"{where}: grade thresholds must descend strictly: {higher.grade} {higher.min}"
                             f" then {lower.grade} {lower.min}")
    if bands[-1].min != 0:
        raise ValueError(f"{where}: the lowest grade must start at 0 so that every score has a grade")
    if len({b.grade for b in bands}) != len(bands):
        raise ValueError(f"{where}: grade names must be unique")
    return tuple(bands)


def _parse_flag(item: Any, grades: list[str], where: str) -> FlagRule:
    _only(item, {"name", "label_zh", "kind", "grade", "periods", "counter", "min"},
          {"name", "label_zh", "kind"}, f"{where}: flag")
    what = f"{where}: flag {item['name']!r}"
    if item["kind"] == "grade_streak":
        _only(item, {"name", "label_zh", "kind", "grade", "periods"}, {"grade", "periods"}, what)
        if item["grade"] not in grades:
            raise ValueError(f"{what}: unknown grade {item['grade']!r}")
        if isinstance(item["periods"], bool) or not isinstance(item["periods"], int) or item["periods"] < 1:
            raise ValueError(f"{what}: periods must be a positive integer")
        return FlagRule(name=item["name"], label_zh=item["label_zh"], kind="grade_streak",
                        grade=item["grade"], periods=item["periods"])
    if item["kind"] == "counter_at_least":
        _only(item, {"name", "label_zh", "kind", "counter", "min"}, {"counter", "min"}, what)
        if isinstance(item["min"], bool) or not isinstance(item["min"], int) or item["min"] < 1:
            raise ValueError(f"{what}: min must be a positive integer")
        return FlagRule(name=item["name"], label_zh=item["label_zh"], kind="counter_at_least",
                        counter=_counter(item["counter"], what), min=item["min"])
    raise ValueError(f"{what}: kind must be one of {FLAG_KINDS}, not {item['kind']!r}")


# ---------------------------------------------------------------------------- default rules

_CASE_RATES = [
    {"name": "handling_rate", "label_zh": "处置率", "kind": "rate",
     "numerator": "handled", "denominator": "received", "weight": 30},
    {"name": "on_time_rate", "label_zh": "按期处置率", "kind": "rate",
     "numerator": "handled_on_time", "denominator": "handled", "weight": 20},
    {"name": "rework_rate", "label_zh": "返工率", "kind": "inverse_rate",
     "numerator": "reopened", "denominator": "handled", "weight": 20},
    {"name": "overdue_rate", "label_zh": "超期率", "kind": "inverse_rate",
     "numerator": "overdue_open", "denominator": "received", "weight": 20},
    {"name": "extension_rate", "label_zh": "延期率", "kind": "inverse_rate",
     "numerator": "extended", "denominator": "received", "weight": 10},
]
_FOUND_BY_OTHERS = [
    {"name": "found_by_city", "label_zh": "市级（区级）发现问题", "counter": "found_by_city",
     "points_each": 2, "max_points": 10},
    {"name": "found_by_public", "label_zh": "群众举报发现问题", "counter": "found_by_public",
     "points_each": 1, "max_points": 10},
]
_LEVEL_2_RATES = [
    {**_CASE_RATES[0], "weight": 20},
    _CASE_RATES[1],
    {"name": "closure_rate", "label_zh": "结案率", "kind": "rate",
     "numerator": "closed", "denominator": "received", "weight": 10},
    *_CASE_RATES[2:],
]


def _own(items: list[dict]) -> list[dict]:
    """Each level its own copies, so that changing one level's data never changes another's."""
    return [dict(item) for item in items]


DEFAULT_RULES_DATA: dict[str, Any] = {
    "version": 1,
    "total": 100,
    "source": ("EnvGrid default v1. Rates after China's digital urban management (数字化城市管理) evaluation: "
               "处置率, 按期处置率, 结案率, 返工率, 延期率, in the 100-point scheme the assessment issue suggests "
               "(处置率 30, 按期处置率 20, 1-返工率 20, 1-超期率 20, 1-延期率 10); level 2 gives 10 of its "
               "处置率 points to 结案率 because towns report closure (回报销号) to the district and city. "
               "Deductions follow the plan's frequencies (城发〔2018〕26号: meetings 议事会商, inspections 督查督办, "
               "daily patrols of level-4 grids) and problems first found by the city or the public. "
               "The district's 附件4/附件5 are not published: replace with a new version when they are."),
    "levels": {
        "2": {"metrics": _own(_LEVEL_2_RATES), "deductions": [
            {"name": "missed_meetings", "label_zh": "未按要求召开专题会议、碰头会", "counter": "meetings_missed",
             "points_each": "0.5", "max_points": 10},
            {"name": "missed_inspections", "label_zh": "未按要求督查下级网格", "counter": "inspections_missed",
             "points_each": 1, "max_points": 10},
            *_own(_FOUND_BY_OTHERS)]},
        "3": {"metrics": _own(_CASE_RATES), "deductions": [
            {"name": "missed_meetings", "label_zh": "未按要求召开碰头会", "counter": "meetings_missed",
             "points_each": "0.5", "max_points": 10},
            *_own(_FOUND_BY_OTHERS)]},
        "4": {"metrics": _own(_CASE_RATES), "deductions": [
            {"name": "missed_patrol_days", "label_zh": "未巡查天数", "counter": "patrol_days_missed",
             "points_each": 2, "max_points": 20},
            *_own(_FOUND_BY_OTHERS)]},
        "5": {"same_as": 4},
    },
    "grades": [{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 80},
               {"grade": "合格", "min": 60}, {"grade": "不合格", "min": 0}],
    "subsidy": {"base_fen": 30000, "factors": {"优秀": "1.2", "良好": 1, "合格": "0.8", "不合格": 0}},
    "flags": [
        {"name": "failing_twice", "label_zh": "连续两期考核不合格", "kind": "grade_streak",
         "grade": "不合格", "periods": 2},
        {"name": "repeated_breaches", "label_zh": "多次超时未处置", "kind": "counter_at_least",
         "counter": "sla_breaches", "min": 3},
    ],
}

DEFAULT_RULES = RuleSet.from_dict(DEFAULT_RULES_DATA)
"""Version 1, the starting point until the district publishes its 考核办法 (附件4).

Source: the assessment issue's suggested 100-point scheme (处置率 30, 按期处置率 20,
1-返工率 20, 1-超期率 20, 1-延期率 10), the rates of China's digital urban
management evaluation (数字化城市管理: 处置率, 按期处置率, 结案率, 返工率, 延期率),
and the plan's frequencies (城发〔2018〕26号). Level 1 (the district itself) is
not scored; level 5 shares level 4's rules. A grid with no cases gets full marks
for every rate (nothing was left undone); hiding problems is caught by the
deductions for problems first found by the city or the public, and, at level 4,
for days without a patrol.
"""


def rules_by_version(extra: Iterable[Mapping[str, Any]] = ()) -> dict[int, RuleSet]:
    """Every known rule set by version: the built-in v1 plus `extra` (e.g. read from a JSON file).
    A version defined twice is an error: a published score must always find its rules."""
    result = {DEFAULT_RULES.version: DEFAULT_RULES}
    for data in extra:
        rules = RuleSet.from_dict(data)
        if rules.version in result:
            raise ValueError(f"scoring rules version {rules.version} is defined twice")
        result[rules.version] = rules
    return result


# ---------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class Result:
    """A grid's score for one period. Decimals throughout; as_dict() for JSON.

    explanation: one item per metric, in rule order:
      {name, label_zh, kind, numerator, denominator (the counts), rate (Decimal to 4 places, or None
      when there was no data), value (what was weighted: rate, or 1 - rate; 4 places), weight,
      contribution (2 places), no_data (bool), note (a Chinese note when no data)}.
    deductions: one item per deduction: {name, label_zh, counter, count, points_each, points}.
    """
    score: Decimal
    grade: str
    rule_version: int
    level: int
    total: Decimal
    subtotal: Decimal
    explanation: tuple[dict, ...]
    deductions: tuple[dict, ...]

    def as_dict(self) -> dict:
        """JSON-ready: every Decimal as a string ("82.45"), so nothing passes through a float."""
        return _jsonable({"score": self.score, "grade": self.grade, "rule_version": self.rule_version,
                          "level": self.level, "total": self.total, "subtotal": self.subtotal,
                          "explanation": list(self.explanation), "deductions": list(self.deductions)})


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def counters_with_derived(counters: Mapping[str, int]) -> dict[str, int]:
    """Every known counter: the given ones (missing ones are 0) plus the derived ones.

    Unknown names, derived names, negative or non-integer values are refused (ValueError),
    so a misspelt counter does not silently score as zero.
    """
    unknown = set(counters) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters {sorted(unknown)} (known: {sorted(COUNTERS)};"
                         f" {sorted(DERIVED)} are computed, not given)")
    values = {}
    for name in COUNTERS:
        value = counters.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"counter {name} must be a non-negative integer, not {value!r}")
        values[name] = value
    for name, (whole, part) in DERIVED.items():
        values[name] = max(values[whole] - values[part], 0)
    return values


def score(counters: Mapping[str, int], level: int, rules: RuleSet) -> Result:
    """Score one grid's counters for one period under `rules` (see the module docstring for the arithmetic)."""
    values = counters_with_derived(counters)
    level_rules = rules.for_level(level)

    explanation = []
    for metric in level_rules.metrics:
        num, den = values[metric.numerator], values[metric.denominator]
        no_data = num == 0 and den == 0
        if no_data:
            rate = None
            value = Decimal(1) if metric.when_no_data == "full" else Decimal(0)
        else:
            rate = min(Decimal(num) / Decimal(den), Decimal(1)) if den else Decimal(1)
            value = rate if metric.kind == "rate" else Decimal(1) - rate
        contribution = metric.weight * value
        if metric.cap is not None:
            contribution = min(contribution, metric.cap)
        item = {"name": metric.name, "label_zh": metric.label_zh, "kind": metric.kind,
                "numerator": num, "denominator": den,
                "rate": None if rate is None else rate.quantize(RATE_PLACES, ROUND_HALF_UP),
                "value": value.quantize(RATE_PLACES, ROUND_HALF_UP), "weight": metric.weight,
                "contribution": contribution.quantize(CENT, ROUND_HALF_UP), "no_data": no_data}
        if no_data:
            item["note"] = "无数据，按满分计" if metric.when_no_data == "full" else "无数据，按零分计"
        explanation.append(item)

    deductions = []
    for rule in level_rules.deductions:
        count = values[rule.counter]
        points = rule.points_each * count
        if rule.max_points is not None:
            points = min(points, rule.max_points)
        deductions.append({"name": rule.name, "label_zh": rule.label_zh, "counter": rule.counter, "count": count,
                           "points_each": rule.points_each, "points": points.quantize(CENT, ROUND_HALF_UP)})

    subtotal = sum((item["contribution"] for item in explanation), Decimal("0.00"))
    taken = sum((item["points"] for item in deductions), Decimal("0.00"))
    final = max(subtotal - taken, Decimal("0.00")).quantize(CENT)
    return Result(score=final, grade=rules.grade_for(final), rule_version=rules.version, level=level,
                  total=rules.total, subtotal=subtotal.quantize(CENT), explanation=tuple(explanation),
                  deductions=tuple(deductions))


def rank(results: Mapping[str, Any]) -> dict[str, int]:
    """Competition ranking ("1224") of sibling grids by score, highest first.

    Values are scores (Decimal or int) or anything with a `.score`. Equal scores share a rank and
    the next rank skips as many places as were shared: 95, 90, 90, 80 rank 1, 2, 2, 4. Scores are
    compared exactly as given, so pass the published (two-place) scores.
    """
    scores = {code: getattr(value, "score", value) for code, value in results.items()}
    ordered = sorted(scores.values(), reverse=True)
    first_place = {}
    for place, value in enumerate(ordered, start=1):
        first_place.setdefault(value, place)
    return {code: first_place[value] for code, value in scores.items()}


def subsidy_fen(grade: str, rules: RuleSet, people: int = 1) -> int:
    """The monthly work subsidy, in integer fen, for `people` level-4/5 staff of a grid with `grade`.

    Per person: base_fen x the grade's factor, rounded half up to the fen (Decimal, never float);
    then times `people`, so the total is exactly what the people are paid one by one.
    """
    if grade not in rules.subsidy_factors:
        raise ValueError(f"scoring rules v{rules.version} have no subsidy factor for grade {grade!r}")
    if isinstance(people, bool) or not isinstance(people, int) or people < 0:
        raise ValueError(f"people must be a non-negative integer, not {people!r}")
    each = (Decimal(rules.subsidy_base_fen) * rules.subsidy_factors[grade]).quantize(Decimal(1), ROUND_HALF_UP)
    return int(each) * people


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def flags(history: list[Any], counters: Mapping[str, int], rules: RuleSet) -> list[dict]:
    """Accountability flags raised by `rules.flags`, each {name, label_zh, reason, evidence}.

    `history`: the grid's results, oldest first, ending with this period's; each a Result or a
    mapping with "grade" (and, if known, "score" and "period", which go into the evidence).
    `counters`: this period's counters.
    """
    values = counters_with_derived(counters)
    raised = []
    for rule in rules.flags:
        if rule.kind == "grade_streak":
            recent = history[-rule.periods:]
            if len(recent) == rule.periods and all(_field(item, "grade") == rule.grade for item in recent):
                evidence = [_drop_none({"period": _field(item, "period"), "grade": _field(item, "grade"),
                                        "score": _field(item, "score")}) for item in recent]
                raised.append({"name": rule.name, "label_zh": rule.label_zh,
                               "reason": f"{rule.label_zh}：最近{rule.periods}期均为{rule.grade}",
                               "evidence": evidence})
        elif rule.kind == "counter_at_least":
            value = values[rule.counter]
            if value >= rule.min:
                raised.append({"name": rule.name, "label_zh": rule.label_zh,
                               "reason": f"{rule.label_zh}：{rule.counter} = {value}（阈值 {rule.min}）",
                               "evidence": {"counter": rule.counter, "value": value, "min": rule.min}})
    return raised


# ---------------------------------------------------------------------------- compliance with the plan

MEETING_KINDS = {
    "joint": "党政联席会议 (level 1, at least monthly)",
    "emergency": "紧急会议 (heavy pollution, incidents; extra, does not replace the monthly joint meeting)",
    "topic": "专题会议 (level 2, at least weekly)",
    "briefing": "碰头会 (levels 2 and 3, every working day)",
}
INSPECTIONS_PER_QUARTER = 3   # 一级、二级网格长每季度对下级网格督查不少于三次


def meeting_window(period: Period) -> tuple[date, date]:
    """The local dates whose meetings compliance() looks at: from the Monday of the period's first
    ISO week to the Sunday of its last (a topic meeting late in September counts for the week
    of 28 September, which October shares)."""
    first = period.first_day - timedelta(days=period.first_day.weekday())
    last = period.last_day + timedelta(days=6 - period.last_day.weekday())
    return first, last


def compliance(level: int, period: Period, meetings: Iterable[tuple[str, date]],
               inspections: Iterable[tuple[str, date]], *, lower_grids: Iterable[str] = (),
               is_workday: Callable[[date], bool] | None = None) -> dict[str, int]:
    """The plan's meeting and inspection duties for one grid and period, as counters:
    meetings_required, meetings_held, inspections_required, inspections_done.

    meetings: (kind, local date) pairs, kind one of MEETING_KINDS; inspections: (inspected grid code,
    local date) pairs; lower_grids: the codes of the grid's direct children (who must be inspected);
    is_workday: the district's calendar (default: the statutory one, see periods.statutory_workday).
    Dates are Shanghai local dates; a datetime is refused, since a UTC one would shift the day.

    Meetings (a "slot" is met by at least one meeting of the right kind; extra meetings in a
    slot do not make up for a missed one):
    - level 1: one joint meeting per month of the period.
    - level 2: one topic meeting per ISO week overlapping the period that has at least one working
      day (a week wholly on holiday needs none); a meeting on any day of that week counts, even
      outside the period, so a week straddling two periods is a slot in both. Plus one briefing
      per working day of the period (a briefing on a rest day is not counted).
    - level 3: one briefing per working day of the period. The plan says "every day"; pass
      `is_workday=lambda d: True` to require one on rest days as well.
    - levels 4 and 5: none.
    Inspections (levels 1 and 2; none below): each lower grid at least three times a quarter,
    counted quarter by quarter (a year is four quarters of three, not twelve at any time); for a
    month, prorated to one. Done = the sum, over lower grids and quarters (or the month), of
    min(inspections, the quota); inspections of other grids or outside the period are ignored.
    """
    if level not in LEVELS:
        raise ValueError(f"levels are 1 to 5, not {level!r}")
    workday = is_workday or periods.statutory_workday
    by_kind: dict[str, set[date]] = {kind: set() for kind in MEETING_KINDS}
    for kind, day in meetings:
        if kind not in MEETING_KINDS:
            raise ValueError(f"unknown meeting kind {kind!r} (known: {sorted(MEETING_KINDS)})")
        by_kind[kind].add(_local_date(day))

    required = held = 0
    if level == 1:
        for month in periods.months_of(period):
            required += 1
            held += any(month.first_day <= day <= month.last_day for day in by_kind["joint"])
    if level == 2:
        first, last = meeting_window(period)
        monday = first
        while monday <= last:
            sunday = monday + timedelta(days=6)
            if periods.working_days(monday, sunday, workday):
                required += 1
                held += any(monday <= day <= sunday for day in by_kind["topic"])
            monday += timedelta(days=7)
    if level in (2, 3):
        days = periods.working_days(period.first_day, period.last_day, workday)
        required += len(days)
        held += len(set(days) & by_kind["briefing"])

    inspections_required = inspections_done = 0
    if level in (1, 2):
        grids = set(lower_grids)
        if period.kind == "month":
            spans = [(period, 1)]
        else:
            spans = [(quarter, INSPECTIONS_PER_QUARTER) for quarter in periods.quarters_of(period)]
        tally = _Tally()
        for code, day in inspections:
            day = _local_date(day)
            if code in grids:
                for span, _ in spans:
                    if span.first_day <= day <= span.last_day:
                        tally[(code, span)] += 1
        for span, quota in spans:
            for code in grids:
                inspections_required += quota
                inspections_done += min(tally[(code, span)], quota)

    return {"meetings_required": required, "meetings_held": held,
            "inspections_required": inspections_required, "inspections_done": inspections_done}


def _local_date(day: Any) -> date:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise ValueError(f"a local date is required, not {day!r}")
    return day
