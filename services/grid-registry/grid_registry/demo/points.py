"""Grid points (level 5) inside a level-4 grid: points for offices and shops, small polygons for yards.

Every point and polygon lies strictly inside its grid, clear of the grid's border,
and no polygon overlaps another polygon or contains or touches a point.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import shapely
from shapely import Point, Polygon

from .partition import Frame

# Clearances in grid units (1e-7 degree, about a centimetre): 3-4 m from the border and between units.
BORDER_CLEARANCE = 300
GAP = 400

# Weights of the level-5 kinds in communities and in villages.
KIND_WEIGHTS = {
    "community": {"enterprise": 45, "agency": 10, "social_organisation": 5, "residential_compound": 28,
                  "market": 4, "construction_site": 5, "other": 3},
    "village": {"enterprise": 52, "agency": 8, "social_organisation": 6, "residential_compound": 8,
                "market": 3, "construction_site": 9, "other": 14},
}
# Polygon kinds and their usual size (metres, longer side).
YARD_SIZES = {"residential_compound": (60, 180), "market": (30, 90), "construction_site": (50, 160),
              "factory": (40, 140)}
FACTORY_SHARE = {"community": 0.04, "village": 0.3}  # enterprises that are yards (plants, coal yards)


@dataclass(frozen=True)
class Plan:
    kind: str
    yard: str | None  # key of YARD_SIZES when drawn as a polygon, else None (a point)


def plan_points(rng: random.Random, setting: str) -> list[Plan]:
    """What grid points a level-4 grid in a `setting` ("community" or "village") holds."""
    count = rng.randint(4, 9) if setting == "community" else rng.randint(2, 7)
    weights = KIND_WEIGHTS[setting]
    plans = []
    for kind in rng.choices(list(weights), weights=list(weights.values()), k=count):
        if kind in YARD_SIZES:
            plans.append(Plan(kind, kind))
        elif kind == "enterprise" and rng.random() < FACTORY_SHARE[setting]:
            plans.append(Plan(kind, "factory"))
        else:
            plans.append(Plan(kind, None))
    # Yards first (largest need most room), then points.
    return sorted(plans, key=lambda p: p.yard is None)


def place(rng: random.Random, frame: Frame, grid: Polygon,
          plans: list[Plan]) -> list[tuple[Plan, Point | Polygon]]:
    """Geometries for `plans` in `grid` (integer grid units); a yard that finds no room is left out,
    except a factory, which becomes a point."""
    shapely.prepare(grid)
    border = grid.boundary
    shapely.prepare(border)
    mx, my = frame.metres_per_unit
    area_m = grid.area * mx * my
    minx, miny, maxx, maxy = grid.bounds
    yards: list[Polygon] = []
    spots: list[Point] = []
    placed: list[tuple[Plan, Point | Polygon]] = []

    def clear(geom) -> bool:
        return (shapely.contains_properly(grid, geom) and shapely.distance(border, geom) > BORDER_CLEARANCE
                and all(shapely.distance(y, geom) > GAP for y in yards)
                and all(shapely.distance(p, geom) > GAP for p in spots))

    for plan in plans:
        geom = None
        if plan.yard:
            low, high = YARD_SIZES[plan.yard]
            size = min(rng.uniform(low, high), 0.35 * math.sqrt(area_m))
            for attempt in range(60):
                if attempt and attempt % 15 == 0:
                    size *= 0.75
                cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
                candidate = _rectangle(cx, cy, size, size * rng.uniform(0.5, 1.0), rng.uniform(0, math.pi), mx, my)
                if candidate.is_valid and clear(candidate):
                    geom = candidate
                    yards.append(geom)
                    break
            if geom is None and plan.yard == "factory":
                plan = Plan(plan.kind, None)
        if not plan.yard:
            for _ in range(60):
                candidate = Point(round(rng.uniform(minx, maxx)), round(rng.uniform(miny, maxy)))
                if clear(candidate):
                    geom = candidate
                    spots.append(geom)
                    break
        if geom is not None:
            placed.append((plan, geom))
    return placed


def _rectangle(cx: float, cy: float, width_m: float, height_m: float, angle: float,
               mx: float, my: float) -> Polygon:
    """A rotated rectangle, sizes in metres, corners snapped to the integer grid."""
    c, s = math.cos(angle), math.sin(angle)
    corners = []
    for u, v in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        dx, dy = u * width_m / 2, v * height_m / 2
        corners.append((round(cx + (dx * c - dy * s) / mx), round(cy + (dx * s + dy * c) / my)))
    return Polygon(corners)
