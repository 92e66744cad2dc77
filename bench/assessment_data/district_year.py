"""A year of activity for the demo district, as assessment consumes it (bench helper).

- `district()`: the demo district (grid_registry.demo.generate) as rows of assessment's grid
  read model (grid_view, grid_members), plus who patrols each level-4 grid.
- `Year`: a deterministic, time-ordered stream of the year's events for every level-4 grid:
  case.assigned / case.escalated (to the parent, sometimes on to the town) / case.sla_breached /
  case.handled (on_time true or false) / case.reopened / case.closed, and patrol.recorded on most
  days (sometimes twice a day). `records()` yields compact records, `event()` turns one into
  (event_type, data) shaped as dispatch and incidents publish them (envgrid_contracts CaseEvent,
  SlaEvent, PatrolRecorded). Two passes with the same seed give the same records.
- `Tally`: the counters as assessment's consumer builds them (counters.py) from the same
  records: grid_metrics rows, patrol_days, case_view. Used to bulk-fill what was not sent
  through the broker, after checking it against what the real consumer built.
- `records_rows()`: meetings and inspections of the year (rows for direct insertion).

All times are whole seconds since the epoch (UTC); Asia/Shanghai is UTC+8 all year.
"""
from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

SHANGHAI_OFFSET = 8 * 3600
DAY = 86400
HOUR = 3600
COUNTERS = ("received", "handled", "handled_on_time", "closed", "escalated", "reopened", "extended",
            "sla_breaches", "found_by_public", "found_by_city", "found_by_patrol", "patrol_days")
_INDEX = {name: i for i, name in enumerate(COUNTERS)}
FOUND_BY = {"public_web": "found_by_public", "public_hotline": "found_by_public",
            "public_mailbox": "found_by_public", "city_platform": "found_by_city", "patrol": "found_by_patrol"}
CHANNELS = (("public_web", 30), ("public_hotline", 15), ("public_mailbox", 5), ("city_platform", 15),
            ("patrol", 30), ("inspection", 5))
CATEGORIES = (("catering_fumes", 24), ("open_burning", 24), ("construction_dust", 72),
              ("air_quality_exceedance", 72), ("prominent_problem", 120))
PAID_OR_PATROLLING = ("leader", "grid_member")
EVENT_TYPES = ("case.assigned", "case.escalated", "case.sla_breached", "case.handled", "case.reopened",
               "case.closed", "patrol.recorded")


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def iso(ts: int) -> str:
    return utc(ts).isoformat()


def local_midnight(day: date) -> int:
    """Shanghai midnight of `day` as epoch seconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) - SHANGHAI_OFFSET


def local_date(ts: int) -> date:
    return datetime.fromtimestamp(ts + SHANGHAI_OFFSET, timezone.utc).date()


# -- the district -----------------------------------------------------------------------------
@dataclass
class District:
    grids: list[dict]            # grid_view rows
    members: list[dict]          # grid_members rows
    level4: list[str]
    parent: dict[str, str | None]
    level: dict[str, int]
    patrollers: dict[str, list[str]] = field(default_factory=dict)  # level-4 grid -> person ids


def district(seed: int = 2018) -> District:
    from grid_registry import levels
    from grid_registry.demo import generate
    demo = generate(seed)
    grids, parent, level = [], {}, {}
    for feature in demo.features:
        p = feature["properties"]
        grids.append({"code": p["code"], "name": p["name"], "level": p["level"], "parent_code": p["parent_code"],
                      "kind": p["kind"], "status": "active", "version": 1})
        parent[p["code"]], level[p["code"]] = p["parent_code"], p["level"]
    members = []
    patrollers: dict[str, list[str]] = {}
    for i, person in enumerate(demo.people, start=1):
        members.append({"membership_id": i, "grid_code": person["grid_code"], "person_id": person["person_id"],
                        "name": person["name"], "phone": person["phone"], "role": person["role"],
                        "leads": levels.ROLES[person["role"]].leads, "removed": False})
        if level[person["grid_code"]] == 4 and person["role"] in PAID_OR_PATROLLING:
            patrollers.setdefault(person["grid_code"], []).append(person["person_id"])
    level4 = [g["code"] for g in grids if g["level"] == 4]
    return District(grids, members, level4, parent, level, patrollers)


# -- the year's events ------------------------------------------------------------------------
class Year:
    """Events of one Shanghai calendar year for every level-4 grid, in time order.

    Per level-4 grid (its own parameters drawn once): cases arrive as a Poisson process of
    `rate` a day (0.30-1.35, times `scale`); patrols on a share of days (0.70-0.99), a second
    patrol the same day one time in seven. A case: assigned (SLA 24/72/120 h by category);
    6 % escalated to the village/community (10 % of those on to the town) a few hours later;
    1.5 % never handled (open, overdue later); handled after a grid-specific delay, late ones
    get a case.sla_breached at their deadline; 5 % reopened (rework) and handled again; then
    closed. Events after the year's end are left out (those cases stay open).
    """

    def __init__(self, area: District, seed: int = 2025, year: int = 2025, scale: float = 1.0):
        self.area, self.seed, self.year, self.scale = area, seed, year, scale
        rng = random.Random(f"assessment-bench/grids/{seed}")
        self.params = {}
        for code in area.level4:
            self.params[code] = {"rate": rng.uniform(0.30, 1.35) * scale,
                                 "patrol": rng.uniform(0.70, 0.99) * min(scale, 1.0),
                                 "speed": rng.uniform(0.10, 0.60),    # handling delay, share of the SLA
                                 "rework": rng.uniform(0.01, 0.09)}
        self.start = local_midnight(date(year, 1, 1))
        self.end = local_midnight(date(year + 1, 1, 1))
        self.month_starts = [local_midnight(date(year, m, 1)) for m in range(1, 13)]
        self.month_keys = [f"{year:04d}-{m:02d}" for m in range(1, 13)]

    def month_of(self, ts: int) -> str:
        i = bisect_right(self.month_starts, ts) - 1
        if i < 0 or ts >= self.end:
            return f"{local_date(ts):%Y-%m}"
        return self.month_keys[i]

    def records(self):
        """(ts, seq, kind, payload) in time order; payload is a small dict (see event())."""
        rng = random.Random(f"assessment-bench/events/{self.seed}")
        heap: list = []
        seq = 0
        case_no = patrol_no = 0
        channels, channel_weights = zip(*CHANNELS)
        categories = CATEGORIES
        area = self.area
        day = date(self.year, 1, 1)
        while day.year == self.year:
            day_start = local_midnight(day)
            stamp = f"{day:%Y%m%d}"
            for code in area.level4:
                p = self.params[code]
                if rng.random() < p["patrol"]:
                    for _ in range(2 if rng.random() < 1 / 7 else 1):
                        patrol_no += 1
                        start = day_start + rng.randint(int(7.5 * HOUR), 17 * HOUR)
                        staff = area.patrollers.get(code) or ["P000000"]
                        payload = {"patrol_id": f"PT{patrol_no:08d}", "grid": code, "staff": rng.choice(staff),
                                   "start": start, "end": start + rng.randint(1800, 3 * HOUR),
                                   "distance_m": round(rng.uniform(300, 4000), 1),
                                   "checkpoints": rng.randint(2, 12)}
                        seq += 1
                        heapq.heappush(heap, (start, seq, "patrol.recorded", payload))
                for _ in range(_poisson(rng, p["rate"])):
                    case_no += 1
                    for ts, kind, payload in self._case(rng, code, p, day_start, stamp, case_no,
                                                        channels, channel_weights, categories):
                        seq += 1
                        heapq.heappush(heap, (ts, seq, kind, payload))
            day_end = day_start + DAY
            while heap and heap[0][0] < day_end:
                yield heapq.heappop(heap)
            day += timedelta(days=1)
        # whatever is left happens next year: not part of this year's stream

    def _case(self, rng, grid, p, day_start, stamp, case_no, channels, channel_weights, categories):
        area = self.area
        case_id = f"C{stamp}{case_no:07d}"
        category, sla_h = categories[rng.randrange(len(categories))]
        channel = rng.choices(channels, channel_weights)[0]
        base = {"case_id": case_id, "incident": f"R{stamp}{case_no:07d}", "category": category, "channel": channel}
        t = day_start + rng.randint(8 * HOUR, 20 * HOUR)
        due = t + sla_h * HOUR
        out = [(t, "case.assigned", base | {"grid": grid, "state": "assigned", "due": due, "level": 4,
                                              "action": "assign", "esc": 0, "rework": 0})]
        at, escalations = grid, 0
        if rng.random() < 0.06:
            for _ in range(2 if rng.random() < 0.10 else 1):
                up = area.parent.get(at)
                if not up or area.level.get(up, 1) < 2:
                    break
                t += rng.randint(1 * HOUR, 12 * HOUR)
                due = t + sla_h * HOUR
                escalations += 1
                out.append((t, "case.escalated", base | {"grid": up, "previous": at, "state": "assigned", "due": due,
                                                          "level": area.level[up], "action": "escalate",
                                                          "esc": escalations, "rework": 0}))
                at = up
        level = area.level[at]
        if rng.random() < 0.015:
            if due < self.end:  # never handled: breached at its deadline, stays open (overdue)
                out.append((due, "case.sla_breached", base | {"grid": at, "state": "assigned", "due": due,
                                                              "level": level, "action": "sla_breach",
                                                              "esc": escalations, "rework": 0}))
            return out
        rework = 0
        state_before = "assigned"
        for round_ in range(2):
            delay = int(rng.expovariate(1 / (p["speed"] * sla_h * HOUR))) + 1800
            handled = t + delay
            if handled > due:
                out.append((due, "case.sla_breached", base | {"grid": at, "state": state_before, "due": due,
                                                              "level": level, "action": "sla_breach",
                                                              "esc": escalations, "rework": rework}))
            out.append((handled, "case.handled", base | {"grid": at, "state": "handled", "due": due, "level": level,
                                                         "action": "handle", "on_time": handled <= due,
                                                         "esc": escalations, "rework": rework}))
            t = handled
            if round_ == 0 and rng.random() < p["rework"]:
                t += rng.randint(2 * HOUR, 24 * HOUR)
                rework = 1
                due = t + sla_h * HOUR
                state_before = "accepted"
                out.append((t, "case.reopened", base | {"grid": at, "state": "accepted", "due": due, "level": level,
                                                        "action": "reopen", "esc": escalations, "rework": rework}))
                continue
            break
        closed = t + rng.randint(2 * HOUR, 48 * HOUR)
        out.append((closed, "case.closed", base | {"grid": at, "state": "closed", "due": due, "level": level,
                                                   "action": "close", "on_time": closed <= due,
                                                   "esc": escalations, "rework": rework}))
        return out

    @staticmethod
    def event(record) -> tuple[str, dict, int, str]:
        """(event_type, data, ts, producer) as dispatch / incidents publish it."""
        ts, _seq, kind, p = record
        if kind == "patrol.recorded":
            return kind, {"patrol_id": p["patrol_id"], "grid_code": p["grid"], "staff": p["staff"],
                          "started_at": iso(p["start"]), "ended_at": iso(p["end"]), "distance_m": p["distance_m"],
                          "checkpoints": p["checkpoints"], "problems": []}, ts, "incidents"
        data = {"case_id": p["case_id"], "incident_ids": [p["incident"]], "state": p["state"], "grid_code": p["grid"],
                "at": iso(ts), "level": p["level"], "category": p["category"], "channel": p["channel"],
                "first_incident": p["incident"], "due_at": iso(p["due"]), "escalations": p["esc"],
                "rework_count": p["rework"], "supervision": "general", "department_code": None,
                "actor": "system:sla" if kind == "case.sla_breached" else "bench", "action": p["action"],
                "verified_true": None, "on_time": p.get("on_time"), "public_note": None, "outcome": None}
        if kind == "case.escalated":
            data["previous_grid"] = p["previous"]
        if kind == "case.sla_breached":
            data.update(timer="breach", breach_action="flag")
        return kind, data, ts, "dispatch"


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def envelope(record):
    """The envelope the producer would publish (servicekit.events.new_envelope), dated when it happened."""
    from dataclasses import replace
    from servicekit.events import new_envelope
    kind, data, ts, producer = Year.event(record)
    return replace(new_envelope(kind, data, producer), occurred_at=utc(ts))


# -- what assessment's consumer builds from them ------------------------------------------------
class Tally:
    """counters.py's bookkeeping, on plain dicts (no month is closed while the year is ingested)."""

    def __init__(self, year: Year):
        self.year = year
        self.metrics: dict[tuple[str, str], list[int]] = {}
        self.patrol_days: set[tuple[str, date]] = set()
        self.cases: dict[str, tuple[str | None, str, int | None]] = {}
        self.events = 0
        self.last_ts = year.start

    def _bump(self, grid: str, month: str, **inc: int) -> None:
        row = self.metrics.get((grid, month))
        if row is None:
            row = self.metrics[(grid, month)] = [0] * len(COUNTERS)
        for name, value in inc.items():
            row[_INDEX[name]] += value

    def apply(self, record) -> None:
        ts, _seq, kind, p = record
        self.events += 1
        self.last_ts = ts
        if kind == "patrol.recorded":
            key = (p["grid"], local_date(p["start"]))
            if key in self.patrol_days:
                return
            self.patrol_days.add(key)
            self._bump(p["grid"], self.year.month_of(p["start"]), patrol_days=1)
            return
        grid = p["grid"]
        self.cases[p["case_id"]] = (grid, p["state"], p["due"])
        month = self.year.month_of(ts)
        if kind == "case.assigned":
            extra = {FOUND_BY[p["channel"]]: 1} if p["channel"] in FOUND_BY else {}
            self._bump(grid, month, received=1, **extra)
        elif kind == "case.escalated":
            self._bump(grid, month, received=1)
            self._bump(p["previous"], month, escalated=1)
        elif kind == "case.handled":
            self._bump(grid, month, handled=1, handled_on_time=1 if p.get("on_time") else 0)
        elif kind == "case.closed":
            self._bump(grid, month, closed=1)
        elif kind == "case.reopened":
            self._bump(grid, month, reopened=1)
        elif kind == "case.sla_breached":
            self._bump(grid, month, sla_breaches=1)

    def snapshot(self) -> "Tally":
        copy = Tally(self.year)
        copy.metrics = {k: list(v) for k, v in self.metrics.items()}
        copy.patrol_days = set(self.patrol_days)
        copy.cases = dict(self.cases)
        copy.events = self.events
        copy.last_ts = self.last_ts
        return copy


# -- meetings and inspections -------------------------------------------------------------------
def records_rows(area: District, year: int = 2025, seed: int = 2025) -> tuple[list[dict], list[dict]]:
    """Meetings (level 1 joint monthly; level 2 topic weekly and briefings on working days; level 3
    briefings on working days, each unit with its own diligence) and inspections (the district of
    each town, each town of each of its villages/communities, about three a quarter)."""
    from assessment.periods import statutory_workday
    rng = random.Random(f"assessment-bench/records/{seed}")
    now = datetime.now(timezone.utc)
    meetings, inspections = [], []
    days = [date(year, 1, 1) + timedelta(days=i) for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
    workdays = [d for d in days if statutory_workday(d)]

    def at(day: date, hour: float) -> datetime:
        return utc(local_midnight(day) + int(hour * HOUR))

    def meeting(code, kind, day, hour):
        meetings.append({"grid_code": code, "kind": kind, "held_at": at(day, hour), "attendees": ["网格长", "网格员"],
                         "minutes": "通报巡查情况，部署整改任务", "evidence": [], "recorded_by": "bench",
                         "created_at": now})
    by_level = {lvl: [g["code"] for g in area.grids if g["level"] == lvl] for lvl in (1, 2, 3)}
    for code in by_level[1]:
        for month in range(1, 13):
            meeting(code, "joint", date(year, month, rng.randint(3, 25)), 9)
    for code in by_level[2]:
        diligence = rng.uniform(0.80, 0.99)
        monday = days[0] - timedelta(days=days[0].weekday())
        while monday.year <= year:
            if rng.random() < diligence:
                day = monday + timedelta(days=rng.randint(0, 4))
                if day.year == year:
                    meeting(code, "topic", day, 15)
            monday += timedelta(days=7)
        for day in workdays:
            if rng.random() < diligence:
                meeting(code, "briefing", day, 8.5)
    for code in by_level[3]:
        diligence = rng.uniform(0.55, 0.99)
        for day in workdays:
            if rng.random() < diligence:
                meeting(code, "briefing", day, 8.5)
    children = {}
    for g in area.grids:
        if g["parent_code"] and g["level"] in (2, 3):
            children.setdefault(g["parent_code"], []).append(g["code"])
    for inspecting in by_level[1] + by_level[2]:
        for inspected in children.get(inspecting, ()):
            for quarter in range(4):
                for _ in range(rng.choice((1, 2, 3, 3, 3, 4))):
                    day = date(year, 3 * quarter + 1, 1) + timedelta(days=rng.randint(0, 89))
                    inspections.append({"inspector": "bench", "inspecting_grid": inspecting,
                                        "inspected_grid": inspected, "held_at": at(day, 10),
                                        "findings": "台账齐全，现场整洁", "evidence": [], "created_at": now})
    return meetings, inspections
