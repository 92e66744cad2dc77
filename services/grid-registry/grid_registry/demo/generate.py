"""A full-size demonstration district (晋城市城区), generated from a seed.

`generate(seed)` returns the five levels of the grid as GeoJSON features and the
people holding roles in them. The same seed gives the same output, byte for byte
once written; nothing here reads or writes files.

Levels 1-4 come from one Voronoi tiling of the district into 780 level-4 grids on
an integer grid of 1e-7 degree; villages/communities and towns/subdistricts are
contiguous unions of those cells, so every unit is exactly partitioned by its
children. Level 5 grid points are placed strictly inside their level-4 grid.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field

import shapely
from shapely import Polygon

from .. import levels
from . import names, points
from .naming import Namer
from .partition import (Contact, Frame, PartitionError, contacts, ensure_minimum, kmeans, make_contiguous,
                        neighbours, scatter, star_polygon, voronoi_cells)
from .roster import staff

FRAME = Frame(lon=112.88, lat=35.50)
OUTLINE_HALF_AXES = (6200, 5900)  # metres east-west and north-south: about 120 km²
# Per level-2 unit, in names.LEVEL2 order: where it lies (metres from the centre), how many villages/
# communities and level-4 grids it has, and the share of its level-3 units that are villages.
LEVEL2_CENTRES = ((1000, 0), (-1000, 100), (0, -1000), (0, 1000),
                  (-3000, 2200), (2000, -3000), (-3000, -2200), (2800, 2400))
LEVEL3_COUNTS = (14, 12, 14, 16, 20, 22, 19, 29)
LEVEL4_COUNTS = (75, 62, 74, 86, 112, 121, 100, 150)
VILLAGE_SHARE = (0.0, 0.0, 0.0, 0.12, 0.17, 0.45, 0.55, 0.8)
# The chance that a shared border is described by a road (or river, railway…) instead of the neighbour.
ROAD_SHARE = {2: 0.3, 3: 0.35, 4: 0.45}
SIDES = (("east", "东", (1, 0)), ("south", "南", (0, -1)), ("west", "西", (-1, 0)), ("north", "北", (0, 1)))
ATTEMPTS = 5


@dataclass(frozen=True)
class Demo:
    features: list[dict]  # GeoJSON Features, level by level, each level in code order
    people: list[dict]    # one row per role held: person_id, name, phone, title, grid_code, role


@dataclass
class Unit:
    code: str
    name: str
    level: int
    kind: str
    geom: object  # shapely geometry in grid units
    parent: Unit | None = None
    short: str = ""
    setting: str = "community"  # community or village: the character of the place
    four_sides: dict = field(default_factory=dict)
    address: str | None = None
    children: list[Unit] = field(default_factory=list)
    cell: int | None = None  # level 4: index of its Voronoi cell


def generate(seed: int = 2018) -> Demo:
    for attempt in range(ATTEMPTS):
        try:
            return _generate(seed, attempt)
        except PartitionError:
            continue
    raise PartitionError(f"no valid layout for seed {seed} in {ATTEMPTS} attempts")


def _generate(seed: int, attempt: int) -> Demo:
    def rng(purpose: str) -> random.Random:
        return random.Random(f"envgrid-demo/{seed}/{attempt}/{purpose}")

    namer = Namer(rng("names"))
    cells, town_of, village_of = _layout(rng("layout"))
    district = _units(namer, cells, town_of, village_of)
    _describe_sides(rng("sides"), district, cells)
    _add_grid_points(rng("points"), namer, district)
    units = _walk(district)
    people = staff(rng("people"), namer, _tree(district))
    return Demo(features=[_feature(u) for u in sorted(units, key=lambda u: (u.level, u.code))], people=people)


# --- levels 1-4 -------------------------------------------------------------------------------
def _layout(rng: random.Random):
    """The 780 level-4 cells, and for each cell the index of its town (0-7) and of its village (0-145)."""
    outline = shapely.set_precision(FRAME.to_units(star_polygon(rng, *OUTLINE_HALF_AXES)), 1.0)
    if outline.geom_type != "Polygon" or not outline.is_valid:
        raise PartitionError("outline is not one valid polygon")
    outline_m = FRAME.to_metres(outline)
    regions = list(shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(LEVEL2_CENTRES),
                                                                extend_to=outline_m)))
    seeds: list[tuple[float, float]] = []
    origin: list[int] = []
    for town, (centre, count) in enumerate(zip(LEVEL2_CENTRES, LEVEL4_COUNTS)):
        region = next(r for r in regions if r.contains(shapely.Point(centre)))
        seeds += scatter(rng, region.intersection(outline_m), count)
        origin += [town] * count
    cells = voronoi_cells(FRAME, seeds, outline)
    pairs, _ = contacts(cells, outline)
    graph = neighbours(pairs, len(cells))
    town_of = make_contiguous(origin, graph)

    centres = [FRAME.xy_metres(c.x, c.y) for c in shapely.centroid(cells)]
    village_of = [0] * len(cells)
    parent_of_village: dict[int, int] = {}
    first = 0
    for town, count in enumerate(LEVEL3_COUNTS):
        mine = [i for i, t in enumerate(town_of) if t == town]
        if len(mine) < 2 * count:
            raise PartitionError(f"town {town} has too few cells")
        for i, label in zip(mine, kmeans(rng, [centres[i] for i in mine], count)):
            village_of[i] = first + label
        for v in range(first, first + count):
            parent_of_village[v] = town
        first += count
    village_of = make_contiguous(village_of, graph, parent_of_village)
    village_of = ensure_minimum(village_of, graph, parent_of_village, 2)
    if len(set(village_of)) != sum(LEVEL3_COUNTS):
        raise PartitionError("a village lost all its cells")
    return cells, town_of, village_of


def _units(namer: Namer, cells: list[Polygon], town_of: list[int], village_of: list[int]) -> Unit:
    """The unit tree for levels 1-4, numbered north to south, west to east."""
    towns = []
    for t, (name, kind, short) in enumerate(names.LEVEL2):
        towns.append(Unit(levels.child_code(levels.DISTRICT_CODE, t + 1), name, 2, kind,
                          shapely.union_all([c for c, tt in zip(cells, town_of) if tt == t]), short=short))
    district = Unit(levels.DISTRICT_CODE, "晋城市城区", 1, "district", shapely.union_all([u.geom for u in towns]))
    centre = shapely.centroid(district.geom)
    for t, town in enumerate(towns):
        town.parent = district
        district.children.append(town)
        groups: dict[int, list[int]] = defaultdict(list)
        for i, (tt, v) in enumerate(zip(town_of, village_of)):
            if tt == t:
                groups[v].append(i)
        members_of = list(groups.values())
        villages = [shapely.union_all([cells[i] for i in members]) for members in members_of]
        order = sorted(range(len(villages)), key=lambda k: _reading_order(villages[k], 800))
        far = sorted(order, key=lambda k: -shapely.distance(centre, shapely.centroid(villages[k])))
        rural = set(far[: round(VILLAGE_SHARE[t] * len(villages))])
        for number, k in enumerate(order, start=1):
            setting = "village" if k in rural else "community"
            name = namer.village() if setting == "village" else namer.community()
            village = Unit(levels.child_code(town.code, number), name, 3, setting, villages[k], parent=town,
                           short=name.removesuffix("社区").removesuffix("村"), setting=setting)
            town.children.append(village)
            members = sorted(members_of[k], key=lambda i: _reading_order(cells[i], 200))
            for n, i in enumerate(members, start=1):
                area = Unit(levels.child_code(village.code, n), f"{name}第{n}网格", 4, "area", cells[i],
                            parent=village, setting=setting, cell=i)
                village.children.append(area)
    for unit in _walk(district):
        if unit.level < 5 and (unit.geom.geom_type != "Polygon" or not unit.geom.is_valid):
            raise PartitionError(f"{unit.name} is not one valid polygon")
    return district


def _reading_order(geom, band_m: float) -> tuple[int, float]:
    x, y = _centre(geom)
    return -round(y / band_m), x


# --- four sides (四至) ------------------------------------------------------------------------
def _describe_sides(rng: random.Random, district: Unit, cells) -> None:
    """四至 of levels 1-4: on each side the neighbour (or a road between) sharing the longest edge."""
    district.four_sides = {key: f"{zh}至{names.OUTSIDE}" for key, zh, _ in SIDES}
    area_of_cell = {u.cell: u for u in _walk(district) if u.level == 4}
    pairs, border = contacts(cells, district.geom)
    level_units = {4: [area_of_cell[i] for i in range(len(cells))]}
    level_units[3] = [a.parent for a in level_units[4]]
    level_units[2] = [v.parent for v in level_units[3]]
    for level in (2, 3, 4):
        owner = level_units[level]
        unit_pairs: dict[tuple[str, str], Contact] = defaultdict(Contact)
        for (i, j), c in pairs.items():
            a, b = owner[i], owner[j]
            if a is not b:
                key = (a.code, b.code) if a.code < b.code else (b.code, a.code)
                unit_pairs[key].merge(c)
        unit_border: dict[str, Contact] = defaultdict(Contact)
        for i, c in border.items():
            unit_border[owner[i].code].merge(c)
        by_code = {u.code: u for u in owner}
        labels: dict[tuple[str, str], str | None] = {}
        for key in sorted(unit_pairs):
            a, b = by_code[key[0]], by_code[key[1]]
            if rng.random() < ROAD_SHARE[level]:
                rural = a.setting == "village" and b.setting == "village"
                labels[key] = rng.choice(names.RURAL_FEATURES if rural else names.ROADS)
            else:
                labels[key] = None  # the neighbour's name
        touching: dict[str, list[tuple[str, Contact]]] = defaultdict(list)
        for (a, b), c in sorted(unit_pairs.items()):
            touching[a].append((labels[(a, b)] or by_code[b].name, c))
            touching[b].append((labels[(a, b)] or by_code[a].name, c))
        for code, c in sorted(unit_border.items()):
            touching[code].append((names.OUTSIDE, c))
        for code in sorted(by_code):
            unit = by_code[code]
            unit.four_sides = _sides(rng, unit, touching[code])


def _sides(rng: random.Random, unit: Unit, touching: list[tuple[str, Contact]]) -> dict:
    cx, cy = _centre(unit.geom)
    best: dict[str, tuple[float, str]] = {}
    for label, contact in touching:
        mx, my = FRAME.xy_metres(*contact.middle)
        dx, dy = mx - cx, my - cy
        key = max(SIDES, key=lambda s: dx * s[2][0] + dy * s[2][1])[0]
        if key not in best or contact.length > best[key][0]:
            best[key] = (contact.length, label)
    sides = {}
    for key, zh, _ in SIDES:
        label = best[key][1] if key in best else rng.choice(
            names.RURAL_FEATURES if unit.setting == "village" else names.ROADS)
        sides[key] = f"{zh}至{label}"
    return sides


# --- level 5 --------------------------------------------------------------------------------
def _add_grid_points(rng: random.Random, namer: Namer, district: Unit) -> None:
    for area in [u for u in _walk(district) if u.level == 4]:
        village, town = area.parent, area.parent.parent
        roads = [s[2:] for s in area.four_sides.values() if s[2:] in names.ROADS]
        road = roads[0] if roads else rng.choice(names.ROADS)
        place = {"l2": town.short, "l3": village.short, "road": road}
        number = 0
        for plan, geom in points.place(rng, FRAME, area.geom, points.plan_points(rng, area.setting)):
            name = namer.grid_point(plan.kind, place, factory=plan.yard == "factory")
            if name is None:
                continue
            number += 1
            if area.setting == "village":
                address = f"晋城市城区{town.name}{village.name}{rng.randint(1, 300)}号"
            else:
                address = f"晋城市城区{rng.choice(roads) if roads else road}{rng.randint(1, 400)}号"
            area.children.append(Unit(levels.child_code(area.code, number), name, 5, plan.kind, geom,
                                      parent=area, setting=area.setting, address=address))
        centres = [_centre(point.geom) for point in area.children]
        for point, centre in zip(area.children, centres):
            point.four_sides = _point_sides(point, centre, area, centres)


def _point_sides(point: Unit, centre, area: Unit, centres) -> dict:
    """Each side: the nearest other grid point that way within 300 m, else the grid's own side."""
    cx, cy = centre
    sides = {}
    for key, zh, (ux, uy) in SIDES:
        nearest = None
        for other, (ox, oy) in zip(area.children, centres):
            dx, dy = ox - cx, oy - cy
            distance = math.hypot(dx, dy)
            if other is not point and 0 < distance < 300 and dx * ux + dy * uy > distance * math.cos(math.pi / 4):
                if nearest is None or distance < nearest[0]:
                    nearest = (distance, other.name)
        sides[key] = f"{zh}至{nearest[1]}" if nearest else area.four_sides[key]
    return sides


def _centre(geom) -> tuple[float, float]:
    """The centroid in metres from the district's centre."""
    return FRAME.xy_metres(*shapely.get_coordinates(shapely.centroid(geom))[0])


# --- output ---------------------------------------------------------------------------------
def _walk(unit: Unit):
    yield unit
    for child in unit.children:
        yield from _walk(child)


def _tree(unit: Unit) -> dict:
    return {"code": unit.code, "kind": unit.kind, "children": [_tree(c) for c in unit.children]}


def _feature(unit: Unit) -> dict:
    properties = {"code": unit.code, "name": unit.name, "level": unit.level,
                  "parent_code": unit.parent.code if unit.parent else None, "kind": unit.kind,
                  "four_sides": unit.four_sides}
    if unit.address:
        properties["address"] = unit.address
    return {"type": "Feature", "properties": properties, "geometry": _geometry(unit.geom)}


def _geometry(geom) -> dict:
    """GeoJSON in degrees, exteriors counter-clockwise (RFC 7946)."""
    geom = shapely.orient_polygons(geom)

    def ring(r):
        return [FRAME.degrees(x, y) for x, y in r.coords]

    def polygon(p):
        return [ring(p.exterior)] + [ring(i) for i in p.interiors]

    if geom.geom_type == "Point":
        return {"type": "Point", "coordinates": FRAME.degrees(geom.x, geom.y)}
    if geom.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geom)}
    return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geom.geoms]}
