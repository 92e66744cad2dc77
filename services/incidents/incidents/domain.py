"""Intake rules on plain data: who may report through which channel, identifiers,
duplicates, and what a reporter is told. No I/O here."""
from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from envgrid_contracts.incident import normalise_tracking_code  # noqa: F401 - part of intake's rules

from servicekit.geo import distance_m

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Which caller roles may file a report through each channel.
CHANNEL_ROLES = {
    "public_web": {"public", "grid_staff", "district_ops", "admin"},
    "public_hotline": {"district_ops", "admin"},   # an operator types in a call
    "public_mailbox": {"district_ops", "admin"},   # an operator types in a letter or e-mail
    "patrol": {"grid_staff"},
    "inspection": {"grid_staff", "district_ops", "admin"},
    "city_platform": {"city_platform"},
}
OPERATOR_CHANNELS = {"public_hotline", "public_mailbox"}
STAFF_CHANNELS = {"patrol", "inspection"}

# Crockford's base32 without the letters people misread (I, L, O, U).
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

# Public statuses a reporter sees, from dispatch's case states.
_PUBLIC = {"closed": "closed", "rejected": "rejected"}


def _random_characters(n: int) -> str:
    """n characters of _ALPHABET, each uniformly random (5 bits apiece of one draw)."""
    bits = secrets.randbits(5 * n)
    return "".join(_ALPHABET[(bits >> (5 * i)) & 31] for i in range(n))


def new_tracking_code() -> str:
    """12 characters, 60 bits: unguessable, and easy to read out over the phone (XXXX-XXXX-XXXX)."""
    raw = _random_characters(12)
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def new_incident_id(now: datetime) -> str:
    """R + the Shanghai date + 6 random characters: sortable by day, readable, unique in practice."""
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    return f"R{day}{_random_characters(6)}"


def new_patrol_id(now: datetime) -> str:
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    return f"P{day}{_random_characters(6)}"


def track_length_m(track: list) -> float:
    return sum(distance_m(a[0], a[1], b[0], b[1]) for a, b in zip(track, track[1:]))


@dataclass(frozen=True)
class Candidate:
    incident_id: str
    lon: float
    lat: float
    reported_at: datetime


def find_duplicate(lon: float | None, lat: float | None, at: datetime, open_reports: list[Candidate],
                   radius_m: float, window: timedelta) -> tuple[str, float] | None:
    """The first open report of the same category within `radius_m` and `window` of this one.

    The earliest wins (the first reporter keeps priority, which matters for rewards);
    a report without a position is never taken for a duplicate.
    """
    if lon is None or lat is None:
        return None
    near = []
    for other in open_reports:
        if abs(at - other.reported_at) > window:
            continue
        distance = distance_m(lon, lat, other.lon, other.lat)
        if distance <= radius_m:
            near.append((other.reported_at, other.incident_id, distance))
    if not near:
        return None
    _, incident_id, distance = min(near)
    return incident_id, round(distance, 1)


def box_around(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box holding the circle: a cheap index-friendly prefilter before the exact distance."""
    dlat = radius_m / 111_320.0
    dlon = radius_m / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


# Every position is also filed under a coarse cell, a square of 1/CELLS_PER_DEGREE degree
# (0.005°: about 550 m north-south, 450 m east-west here), so the duplicate lookup reads the
# few cells around a point from an index instead of every open report of the category.
# Stored in reports.cell: changing the size needs a migration that refills the column.
CELLS_PER_DEGREE = 200
_ROW = 100_000  # cell = row * _ROW + column; |column| <= 36,000 stays clear of the next row
MAX_CELLS = 64  # a box over more cells than this (a very large radius) is looked up without them


def cell_of(lon: float | None, lat: float | None) -> int | None:
    if lon is None or lat is None:
        return None
    return math.floor(lat * CELLS_PER_DEGREE) * _ROW + math.floor(lon * CELLS_PER_DEGREE)


def cells_covering(x0: float, y0: float, x1: float, y1: float) -> list[int] | None:
    """Every cell the box touches, so every point in the box is in one of them; None when too many."""
    columns = range(math.floor(x0 * CELLS_PER_DEGREE), math.floor(x1 * CELLS_PER_DEGREE) + 1)
    rows = range(math.floor(y0 * CELLS_PER_DEGREE), math.floor(y1 * CELLS_PER_DEGREE) + 1)
    if len(columns) * len(rows) > MAX_CELLS:
        return None
    return [row * _ROW + column for row in rows for column in columns]


def public_status(case_state: str) -> str:
    """What the reporter sees for a case state: received → processing → closed | rejected."""
    return _PUBLIC.get(case_state, "processing")
