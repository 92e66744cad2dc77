"""Which grid is this point in? The deepest unit containing it, with its whole chain.

`Locator` is built once from plain records of the *active* grids - mappings with
`code`, `level`, `parent_code` and `geometry` (a GeoJSON geometry, as a dict or as
text; `boundary` is accepted as the key too), or GeoJSON Features carrying those in
their properties. Geometries are WGS-84. A record whose `status` is other than
"active" (a retired grid) is skipped, so registry rows can be passed as they are: a
retired grid never captures a point, and the grids that replaced it do. Build a new
Locator when the grids change; one is immutable and safe to share between threads.

What a point gets, deepest first:
1. a level-5 polygon (closed compound, site...) that covers it;
2. a level-5 point (an enterprise or agency marked by one coordinate, usually its gate)
   within `point_radius_m` (30 m by default) of it - the nearest one. A marker is not
   an outline: a report made at the gate or in the yard of a small unit, with a phone's
   GPS good to 5-20 m in town, should still reach that unit, while 30 m stays short of
   most neighbours across a street;
3. else the level-4 grid covering it; else the deepest level above that covers it
   (a gap in the data falls back to the unit around the gap, never to a neighbour).
A point no polygon of levels 1-4 covers is outside the district: `OUTSIDE`, never a
guess - not even when it is within the radius of a level-5 point near the border.

Ties - a point on the edge shared by two siblings, or on a vertex shared by four, is
covered by all of them: the lowest code wins, at every level. It depends neither on
the order of the records nor on the tree, so the answer is the same on every call,
every process and every rebuild; and since codes are prefixes of their children's, the
lowest level-4 code on a village border lies in the lowest village code there too.
Among level-5 points at exactly the same distance the lowest code wins as well.

The chain is the matched unit's registered ancestry (parent_code links), level 1 first.

Implementation: every unit has an index in priority order - level-5 polygons,
level-5 point discs, level 4, then 3, 2, 1, by code within each - so "the best unit"
is the lowest index among those covering the point. Two STRtrees:
- the fine tree (levels 5 and 4: many small polygons) is queried with
  predicate="intersects" (a point on a boundary intersects it: covered counts), one
  shapely call, as cheap as a bare query. A level-5 point enters it as a polygon
  slightly larger than its radius; the exact distance is checked after.
- the coarse tree (levels 1-3: few large outlines with many vertices) is consulted only
  when no level-4 grid covers the point - outside the district, in a gap, or near the
  border - and only after one test against the union of levels 1-3 has said the point
  is inside it at all. Those outlines are prepared geometries, which answer
  point-in-polygon from their own index, so a district outline with thousands of
  vertices costs no more than a small grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np
import shapely

from servicekit import geo

from . import levels

DEFAULT_POINT_RADIUS_M = 30.0
_DISC_SIDES = 32  # the polygon standing in for a level-5 point's circle of radius
_HAIR_DEG = 1e-9  # about 0.1 mm


@dataclass(frozen=True)
class Location:
    """Where a point is: `inside` the district or not; if inside, the unit and its chain."""
    inside: bool
    code: str | None = None
    level: int | None = None
    chain: tuple[str, ...] = ()  # codes from level 1 down to `code`


OUTSIDE = Location(inside=False)


def _geometry(code, raw):
    try:
        return geo.geometry_from_geojson(raw)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ValueError(f"grid {code!r}: no usable GeoJSON geometry ({exc})") from exc


def _disc(lon: float, lat: float, radius_m: float) -> np.ndarray:
    """Ring of a polygon circumscribing the circle of `radius_m` around the point (in degrees)."""
    kx, ky = geo.metres_per_degree(lat)
    r = radius_m / math.cos(math.pi / _DISC_SIDES)
    t = np.linspace(0.0, 2.0 * math.pi, _DISC_SIDES, endpoint=False)
    return np.column_stack([lon + r * np.cos(t) / kx, lat + r * np.sin(t) / ky])


class Locator:
    """Point -> deepest grid unit, for the active grids it was built from. See the module doc."""

    def __init__(self, records: Iterable[Mapping], *, point_radius_m: float = DEFAULT_POINT_RADIUS_M):
        if not (point_radius_m >= 0 and math.isfinite(point_radius_m)):
            raise ValueError("point_radius_m must be a finite number >= 0")
        self.point_radius_m = float(point_radius_m)
        polygons: dict[int, list] = {level: [] for level in range(1, 6)}  # level -> [(code, geometry)]
        points: list[tuple[str, float, float]] = []
        parents: dict[str, str | None] = {}
        unit_levels: dict[str, int] = {}
        for item in records:
            record, raw = geo.record_parts(item)
            if record.get("status", "active") != "active":
                continue
            code, level = str(record["code"]), int(record["level"])
            if level not in levels.GEOMETRY_TYPES:
                raise ValueError(f"grid {code}: level {level} is not 1-5")
            geometry = _geometry(code, raw)
            if geometry.geom_type not in levels.GEOMETRY_TYPES[level]:
                raise ValueError(f"grid {code}: a {geometry.geom_type} cannot bound a level-{level} unit")
            if code in parents:
                raise ValueError(f"grid {code} appears twice")
            parents[code] = record.get("parent_code") or levels.parent_code(code)
            unit_levels[code] = level
            if geometry.geom_type == "Point":
                points.append((code, geometry.x, geometry.y))
            else:
                polygons[level].append((code, geometry))
        for items in polygons.values():
            items.sort(key=lambda item: item[0])
        points.sort()

        # Index ranges, in priority order: [level-5 polygons | discs | level 4 | levels 3, 2, 1].
        self._disc_start = len(polygons[5])
        self._level4_start = self._disc_start + len(points)
        self._coarse_start = self._level4_start + len(polygons[4])
        discs = list(shapely.polygons([_disc(lon, lat, self.point_radius_m) for _, lon, lat in points])) \
            if points else []
        fine = [g for _, g in polygons[5]] + discs + [g for _, g in polygons[4]]
        coarse = [g for level in (3, 2, 1) for _, g in polygons[level]]
        self._fine = shapely.STRtree(np.array(fine, dtype=object))
        self._coarse_geoms = np.array(coarse, dtype=object)
        shapely.prepare(self._coarse_geoms)
        self._coarse = shapely.STRtree(self._coarse_geoms)
        # Everything levels 1-3 cover, in one prepared outline grown by a hair (so that it only
        # ever errs on the inside): most points the fine tree misses are simply outside, and
        # this says so in one test. The units themselves decide the rest.
        self._coverage = shapely.union_all(self._coarse_geoms).buffer(_HAIR_DEG, join_style="mitre") \
            if coarse else shapely.Polygon()
        shapely.prepare(self._coverage)
        self._point_lon = np.array([lon for _, lon, _ in points], dtype=float)
        self._point_lat = np.array([lat for _, _, lat in points], dtype=float)

        codes = [c for c, _ in polygons[5]] + [c for c, _, _ in points] + \
            [c for level in (4, 3, 2, 1) for c, _ in polygons[level]]
        # One immutable answer per unit, shared by every query that lands in it.
        self._results = [Location(True, code, unit_levels[code], self._chain(code, parents)) for code in codes]

    @staticmethod
    def _chain(code: str, parents: Mapping[str, str | None]) -> tuple[str, ...]:
        chain = [code]
        while len(chain) < 5:
            parent = parents[chain[-1]] if chain[-1] in parents else levels.parent_code(chain[-1])
            if not parent or parent in chain:
                break
            chain.append(parent)
        return tuple(reversed(chain))

    @classmethod
    def from_features(cls, features: Iterable[Mapping], **kwargs) -> "Locator":
        """From GeoJSON Features whose properties hold code, level, parent_code (and maybe status).
        The constructor takes Features as well; this only says so."""
        return cls(features, **kwargs)

    def __len__(self) -> int:
        return len(self._results)

    # --- one point ----------------------------------------------------------------------

    def locate(self, lon: float, lat: float, datum: str = "wgs84") -> Location:
        """The deepest active unit containing the point, or OUTSIDE. ValueError on a bad coordinate."""
        lon, lat = geo.check_lon_lat(lon, lat)
        if datum != "wgs84":
            lon, lat = geo.to_wgs84(lon, lat, datum)
        point = shapely.points((lon, lat))
        hits = self._fine.query(point, predicate="intersects").tolist()
        best = None
        if hits:
            best = min(hits)
            if self._disc_start <= best < self._level4_start:
                best = self._nearest(hits, lon, lat)
            if max(hits) >= self._level4_start:
                return self._results[best]  # a level-4 grid covers it: inside
        # No level-4 grid: is it in the district at all?
        if not self._coverage.intersects(point):
            return OUTSIDE
        candidates = self._coarse.query(point)
        covering = candidates[shapely.intersects(self._coarse_geoms[candidates], point)]
        if covering.size == 0:
            return OUTSIDE
        if best is None:
            best = self._coarse_start + int(covering.min())
        return self._results[best]

    def _nearest(self, hits: list[int], lon: float, lat: float) -> int | None:
        """The nearest level-5 point within the radius among the disc hits (lowest code among equals),
        else the best level-4 hit, else None."""
        near = []
        for i in hits:
            if self._disc_start <= i < self._level4_start:
                k = i - self._disc_start
                d = geo.distance_m(float(self._point_lon[k]), float(self._point_lat[k]), lon, lat)
                if d <= self.point_radius_m:
                    near.append((d, i))
        if near:
            return min(near)[1]
        rest = [i for i in hits if i >= self._level4_start]
        return min(rest) if rest else None

    # --- many points --------------------------------------------------------------------

    def locate_many(self, lons, lats, datum: str = "wgs84") -> list[Location]:
        """`locate` for each (lon, lat) pair, vectorised: the same answers, in input order."""
        lons, lats = geo.check_lon_lat_arrays(lons, lats)
        if datum != "wgs84":
            lons, lats = geo.to_wgs84(lons, lats, datum)
        results = self._results
        return [results[i] if i >= 0 else OUTSIDE for i in self._best_many(lons, lats).tolist()]

    def _best_many(self, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Index of the best unit per point; -1 outside."""
        n = lons.size
        none = np.iinfo(np.int64).max
        best = np.full(n, none, dtype=np.int64)
        if n == 0:
            return np.full(0, -1, dtype=np.int64)
        points = shapely.points(lons, lats)
        pts, units = self._fine.query(points, predicate="intersects")
        np.minimum.at(best, pts, units)
        has_grid = np.zeros(n, dtype=bool)
        has_grid[pts[units >= self._level4_start]] = True

        # Points whose best hit is a level-5 point's disc: nearest within the radius, else level 4.
        at_disc = (best >= self._disc_start) & (best < self._level4_start)
        if at_disc.any():
            sel = at_disc[pts]
            p, u = pts[sel], units[sel]
            best[at_disc] = none
            is_disc = u < self._level4_start
            k = u[is_disc] - self._disc_start
            d = geo.distance_m(self._point_lon[k], self._point_lat[k], lons[p[is_disc]], lats[p[is_disc]])
            distance = np.full(u.size, np.inf)
            distance[is_disc] = d
            ok = ~is_disc | (distance <= self.point_radius_m)
            p, u, distance = p[ok], u[ok], distance[ok]
            group = (u >= self._level4_start).astype(np.int8)  # discs first, then level 4
            order = np.lexsort((u, distance, group, p))
            p, u = p[order], u[order]
            first = np.ones(p.size, dtype=bool)
            first[1:] = p[1:] != p[:-1]
            best[p[first]] = u[first]

        # No level-4 grid: the coarse levels decide whether the point is in the district.
        rest = np.flatnonzero(~has_grid)
        inside = has_grid
        if rest.size:
            rest = rest[shapely.intersects_xy(self._coverage, lons[rest], lats[rest])]
        if rest.size:
            cp, cu = self._coarse.query(points[rest])
            keep = shapely.intersects(self._coarse_geoms[cu], points[rest][cp])
            cp, cu = cp[keep], cu[keep]
            coarse_best = np.full(rest.size, none, dtype=np.int64)
            np.minimum.at(coarse_best, cp, cu + self._coarse_start)
            covered = coarse_best != none
            inside = has_grid.copy()
            inside[rest[covered]] = True
            unmatched = rest[covered & (best[rest] == none)]
            best[unmatched] = coarse_best[covered & (best[rest] == none)]
        best[~inside | (best == none)] = -1
        return best
