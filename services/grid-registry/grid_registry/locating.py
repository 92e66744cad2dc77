"""The locator of a web process: built from the active grids, rebuilt when they change.

Building a Locator for the whole district takes a fraction of a second; a
lookup takes microseconds. Each process keeps one, with the names and levels of
the same grids, and checks at most every CHECK_EVERY_S seconds whether the grid
tree changed (its row count and latest update), so a reorganisation reaches
every gunicorn worker within seconds and a lookup in between touches no database.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicekit import geo
from .grids import active_records
from .locate import Locator
from .models import grids

CHECK_EVERY_S = 2.0

_lock = threading.Lock()
_cache: dict = {"locator": None, "labels": {}, "stamp": None, "checked": 0.0}


def _stamp(session: Session):
    return session.execute(select(func.count(), func.max(grids.c.updated_at))).one()


def current_locator(session: Session) -> tuple[Locator, dict]:
    """(the Locator of the active grids, code -> {code, name, level} of the same grids)."""
    now = time.monotonic()
    if _cache["locator"] is not None and now - _cache["checked"] < CHECK_EVERY_S:
        return _cache["locator"], _cache["labels"]
    with _lock:
        stamp = tuple(_stamp(session))
        if _cache["locator"] is None or stamp != _cache["stamp"]:
            records = active_records(session)
            _cache["locator"] = Locator(records)
            _cache["labels"] = {r["code"]: {"code": r["code"], "name": r["name"], "level": r["level"]}
                                for r in records}
            _cache["stamp"] = stamp
        _cache["checked"] = time.monotonic()
        return _cache["locator"], _cache["labels"]


def _describe(location, lon: float, lat: float, datum: str, labels: dict) -> dict:
    wgs_lon, wgs_lat = geo.to_wgs84(lon, lat, datum)
    result = {"inside": location.inside, "query": {"lon": lon, "lat": lat, "datum": datum},
              "wgs84": {"lon": round(float(wgs_lon), 7), "lat": round(float(wgs_lat), 7)}}
    if not location.inside:
        result["message"] = "the point is outside the district: no grid covers it"
        return result
    result["grid"] = labels[location.code]
    result["chain"] = [labels[code] for code in location.chain]
    return result


def locate_one(session: Session, lon: float, lat: float, datum: str) -> dict:
    locator, labels = current_locator(session)
    return _describe(locator.locate(lon, lat, datum), lon, lat, datum, labels)


def locate_many(session: Session, points: list[dict]) -> list[dict]:
    locator, labels = current_locator(session)
    results = []
    for datum in ("wgs84", "gcj02"):
        batch = [(i, p) for i, p in enumerate(points) if p["datum"] == datum]
        if batch:
            found = locator.locate_many([p["lon"] for _, p in batch], [p["lat"] for _, p in batch], datum)
            results.extend((i, p, loc) for (i, p), loc in zip(batch, found))
    results.sort(key=lambda item: item[0])
    return [_describe(loc, p["lon"], p["lat"], p["datum"], labels) for _, p, loc in results]
