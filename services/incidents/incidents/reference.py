"""Reference data copied from the registry: categories and the district outline.

Intake checks a report's category and whether its position is in the district
against these local copies, so it never waits for the registry nor fails when
it is down. A worker timer refreshes them; until the first refresh succeeds,
reports are still accepted and marked for an operator to check.
"""
from __future__ import annotations

import json
import logging
import threading

import shapely
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from servicekit.geo import geometry_from_geojson
from servicekit.internal import get_json, service_url
from servicekit.tables import utcnow

from .models import categories, district_outline

log = logging.getLogger(__name__)

DISTRICT_CODE = "140502"


def _get(settings, path: str, params: dict | None = None):
    return get_json(settings, service_url("grid-registry", 8001), f"/api/v1/registry{path}", params, timeout=10)


def refresh(settings, db) -> None:
    """The worker timer: copy the categories and the district outline from the registry."""
    try:
        items = _get(settings, "/categories", {"all": "1"})["items"]
        outline = _get(settings, f"/grids/{DISTRICT_CODE}", {"boundary": "1"})
    except OSError as exc:
        log.warning("registry unreachable; reference data not refreshed", extra={"reason": str(exc)[:200]})
        return
    with db.transaction() as session:
        session.execute(delete(categories))
        session.execute(insert(categories), [
            {"code": c["code"], "name": c["name"], "active": c["active"]} for c in items])
        session.execute(delete(district_outline))
        session.execute(insert(district_outline).values(
            id=1, code=outline["code"], boundary=json.dumps(outline["boundary"]), fetched_at=utcnow()))


def category(session: Session, code: str):
    """(known, active, name) of a category in the local copy; known is None when there is no copy yet."""
    row = session.execute(select(categories).where(categories.c.code == code)).first()
    if row is not None:
        return True, row.active, row.name
    if session.execute(select(categories.c.code).limit(1)).first() is None:
        return None, None, None
    return False, False, None


_outline_cache: dict = {"fetched_at": None, "geometry": None}
_outline_lock = threading.Lock()


def outside_district(session: Session, lon: float | None, lat: float | None) -> bool | None:
    """True/False against the local outline; None when there is no position or no outline yet."""
    if lon is None or lat is None:
        return None
    row = session.execute(select(district_outline.c.fetched_at, district_outline.c.boundary)
                          .where(district_outline.c.id == 1)).first()
    if row is None:
        return None
    with _outline_lock:
        if _outline_cache["fetched_at"] != row.fetched_at:
            geometry = geometry_from_geojson(row.boundary)
            shapely.prepare(geometry)  # point-in-polygon from the geometry's own index
            _outline_cache.update(fetched_at=row.fetched_at, geometry=geometry)
        geometry = _outline_cache["geometry"]
    # intersects, not contains: a point on the outline (a border street) is in the district.
    return not bool(shapely.intersects_xy(geometry, lon, lat))
