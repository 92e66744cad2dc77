"""Reference data copied from the registry: categories and the district outline.

Intake checks a report's category and whether its position is in the district
against these local copies, so it never waits for the registry nor fails when
it is down. A worker timer refreshes them; until the first refresh succeeds,
reports are still accepted and marked for an operator to check.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import shapely
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from servicekit.geo import geometry_from_geojson
from servicekit.internal import get_json, service_url
from servicekit.snapshots import TimedSnapshots
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
    forget()


# -- the copies as intake reads them ---------------------------------------------
# Every report checks its category and position: rather than two queries a report, each
# process keeps what it read for REFERENCE_CACHE_S seconds (5; per database, see
# servicekit.snapshots). The copies themselves change every five minutes at most, so a few
# seconds more do not matter; a refresh in this process counts at the next report (forget).


@dataclass(frozen=True)
class Snapshot:
    categories: dict[str, tuple[bool, str]] | None  # code -> (active, name); None: no copy yet
    outline_fetched_at: object
    outline: object  # prepared shapely geometry, or None: no outline yet


def _read(session: Session, previous: Snapshot | None) -> Snapshot:
    rows = session.execute(select(categories.c.code, categories.c.active, categories.c.name)).all()
    outline = session.execute(select(district_outline.c.fetched_at, district_outline.c.boundary)
                              .where(district_outline.c.id == 1)).first()
    geometry = None
    if outline is not None:
        if previous is not None and previous.outline_fetched_at == outline.fetched_at:
            geometry = previous.outline
        else:
            geometry = geometry_from_geojson(outline.boundary)
            shapely.prepare(geometry)  # point-in-polygon from the geometry's own index
    return Snapshot(categories={r.code: (r.active, r.name) for r in rows} if rows else None,
                    outline_fetched_at=outline.fetched_at if outline is not None else None,
                    outline=geometry)


SNAPSHOTS: TimedSnapshots[Snapshot] = TimedSnapshots(_read)


def snapshot(session: Session) -> Snapshot:
    """The local copies as this process last read them, read again when older than REFERENCE_CACHE_S."""
    return SNAPSHOTS.get(session)


def forget() -> None:
    """Read the copies afresh at the next report (after a refresh in this process)."""
    SNAPSHOTS.forget()


def category(session: Session, code: str):
    """(known, active, name) of a category in the local copy; known is None when there is no copy yet."""
    known = snapshot(session).categories
    if known is None:
        return None, None, None
    if code in known:
        active, name = known[code]
        return True, active, name
    return False, False, None


def outside_district(session: Session, lon: float | None, lat: float | None) -> bool | None:
    """True/False against the local outline; None when there is no position or no outline yet."""
    if lon is None or lat is None:
        return None
    geometry = snapshot(session).outline
    if geometry is None:
        return None
    # intersects, not contains: a point on the outline (a border street) is in the district.
    return not bool(shapely.intersects_xy(geometry, lon, lat))
