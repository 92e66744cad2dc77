"""Checks a whole-district (or partial) grid import in one pass and returns every problem.

Input: a GeoJSON FeatureCollection whose features carry `properties` code, name,
level, parent_code, kind and (optionally) four_sides, and a WGS-84 `geometry`. For a
partial import, also the grids already registered (`existing`: plain records with
code, level, parent_code and geometry, or GeoJSON Features, as `Locator` takes them;
retired ones are skipped). An imported feature whose code is already registered
replaces that record: the checks judge the district as it will be after the import.

Output: a list of problems, empty when the import is good. Each is a plain dict:
    {"feature": index in the collection or None, "code": the unit's code or None,
     "problem": a short machine code (below), "message": English text, ...details}
Nothing stops at the first problem: a feature with a bad name still has its
geometry and its place in the tree checked, and an invalid polygon is repaired
(shapely.make_valid) for the checks that need an area.

Problem codes:
  not_feature_collection      the input is not a FeatureCollection with a features list
  feature_invalid             an item of `features` is not a GeoJSON Feature object
  properties_missing          a feature has no properties object
  geometry_missing            a feature has no geometry
  code_invalid                code missing or not a grid code (levels.level_of_code)
  level_invalid               level missing or not an integer 1-5
  level_mismatch              level differs from the level the code implies
  kind_invalid                kind not one of levels.KINDS for the level
  name_missing / name_too_long   name empty, or longer than 100 characters
  four_sides_invalid          four_sides not {east, south, west, north} texts of <= 200 chars
  geometry_malformed          the geometry cannot be read as GeoJSON
  geometry_type_not_allowed   e.g. a Point for a level-4 grid (levels.GEOMETRY_TYPES)
  coordinates_invalid         a coordinate is not finite or outside lon/lat ranges
  geometry_empty              a geometry without coordinates
  geometry_invalid            not a valid geometry (self-intersection...), with `reason`
  duplicate_code              the code appeared earlier in the collection (`first_feature`)
  parent_mismatch             parent_code is not the code's prefix (`expected`)
  parent_unknown              parent_code is neither in the import nor registered
  parent_cycle                following parent_code links comes back to this unit
  outside_parent              a polygon reaches outside its parent (`area_m2`, `geometry`)
  point_outside_parent        a level-5 point outside its level-4 grid (`distance_m`)
  siblings_overlap            two units with the same parent overlap (`other_code`,
                              `area_m2`, `geometry`): levels 2-4, and level-5 polygons
                              within one level-4 grid
  coverage_gap                part of a level-1..3 unit no child covers (全覆盖、无死角):
                              `area_m2`, `geometry` (GeoJSON of the uncovered part), `children`
  no_children                 a level-1..3 unit with no children at all (`area_m2`): the
                              whole unit is a gap. Its own code, so that a unit drawn before
                              its children (one grid at a time) can be told from a holey one.

Helpers for reorganisations (split/merge), same conventions:
  same_area(old, new)         None, or an `area_changed` problem when the new geometries
                              do not cover exactly the area of the old ones
  containing_parent(child, parents)   the code of the parent a child belongs in

Tolerances, for the float noise of boundaries computed separately on each side:
a child may reach `SNAP_DEGREES` (1e-9 degrees, about 0.1 mm) beyond its parent;
overlaps and gaps count from `AREA_TOLERANCE_M2` (1 m²; gap slivers smaller than
that are dropped from the reported geometry).

Areas are in m² on a local equirectangular approximation: a geometry's area in
square degrees times the metres per degree of longitude and of latitude at its own
middle latitude (geo.metres_per_degree). Over a unit the size of this district the
error is a fraction of a percent, plenty to tell a sliver from a missing street.

The geometric checks concern what the import touches: units it brings, and units
whose parent or children it brings. Registered grids are assumed to have passed
these checks when they were imported.

Speed: sibling overlaps take their candidate pairs from one STRtree per level;
containment tests run vectorised against prepared, snapped parents; gaps take one
union of the children per parent. The full demo district (about 5,500 features)
takes about 0.3 s (bench/locate_bench.py prints it).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import shapely

from servicekit import geo

from . import levels

SNAP_DEGREES = 1e-9
AREA_TOLERANCE_M2 = 1.0
NAME_MAX = 100
FOUR_SIDES = ("east", "south", "west", "north")
FOUR_SIDES_MAX = 200


@dataclass
class _Unit:
    code: str
    level: int
    declared_parent: str | None
    geometry: Any  # shapely geometry usable for area checks, or None
    feature: int | None  # index in the collection; None for a registered grid

    @property
    def imported(self) -> bool:
        return self.feature is not None


def _problem(feature, code, problem, message, **details) -> dict:
    return {"feature": feature, "code": code, "problem": problem, "message": message, **details}


def area_m2(geometry) -> float:
    """Area in m² (local equirectangular approximation at the geometry's middle latitude)."""
    if geometry is None or geometry.is_empty:
        return 0.0
    _, miny, _, maxy = geometry.bounds
    kx, ky = geo.metres_per_degree((miny + maxy) / 2.0)
    return float(geometry.area * kx * ky)


def validate_import(collection: Any, existing: Iterable[Mapping] = (), *,
                    area_tolerance_m2: float = AREA_TOLERANCE_M2,
                    snap_degrees: float = SNAP_DEGREES) -> list[dict]:
    """Every problem of the import (see the module doc); an empty list when it is good."""
    if not (isinstance(collection, Mapping) and collection.get("type") == "FeatureCollection"
            and isinstance(collection.get("features"), list)):
        return [_problem(None, None, "not_feature_collection",
                         "expected a GeoJSON FeatureCollection with a list of features")]
    problems: list[dict] = []
    units: dict[str, _Unit] = {}
    for item in existing:
        record, raw = geo.record_parts(item)
        if record.get("status", "active") != "active":
            continue
        code = str(record["code"])
        units[code] = _Unit(code, int(record["level"]), record.get("parent_code"), _readable(raw), None)

    seen: dict[str, int] = {}
    for index, feature in enumerate(collection["features"]):
        unit = _check_feature(index, feature, problems)
        if unit is None:
            continue
        if unit.code in seen:
            problems.append(_problem(index, unit.code, "duplicate_code",
                                     f"code {unit.code} already used by feature {seen[unit.code]}",
                                     first_feature=seen[unit.code]))
            continue
        seen[unit.code] = index
        units[unit.code] = unit  # replaces a registered grid of the same code

    _check_parents(units, problems)
    _check_geometry(units, problems, area_tolerance_m2, snap_degrees)
    return problems


def _readable(raw):
    """A geometry fit for area checks from trusted input (registered grids), or None."""
    try:
        geometry = geo.geometry_from_geojson(raw)
    except Exception:  # shapely raises a variety of errors on malformed input
        return None
    if geometry.is_empty:
        return None
    if not shapely.is_valid(geometry):
        geometry = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
    return geometry if not geometry.is_empty else None


# --- one feature ----------------------------------------------------------------------

def _check_feature(index: int, feature: Any, problems: list[dict]) -> _Unit | None:
    """Per-feature checks; the unit for the tree checks when its code is usable."""
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        problems.append(_problem(index, None, "feature_invalid", "not a GeoJSON Feature object"))
        return None
    props = feature.get("properties")
    has_props = isinstance(props, Mapping)
    if not has_props:
        problems.append(_problem(index, None, "properties_missing", "the feature has no properties"))
        props = {}
    raw_code = props.get("code")
    code = raw_code if isinstance(raw_code, str) and levels.level_of_code(raw_code) else None
    report = lambda problem, message, **details: problems.append(  # noqa: E731
        _problem(index, code if code else raw_code if isinstance(raw_code, str) else None, problem, message,
                 **details))
    if has_props and code is None:
        report("code_invalid", f"code {raw_code!r} is not a grid code: {levels.DISTRICT_CODE} "
                               "followed by 3, 6, 9 or 13 digits")
    code_level = levels.level_of_code(code) if code else None

    declared = props.get("level")
    declared_ok = isinstance(declared, int) and not isinstance(declared, bool) and 1 <= declared <= 5
    if has_props and not declared_ok:
        report("level_invalid", f"level {declared!r} is not an integer 1-5")
    elif has_props and code_level and declared != code_level:
        report("level_mismatch", f"level {declared} but code {code} is a level-{code_level} code",
               expected=code_level)
    level = code_level or (declared if declared_ok else None)

    if has_props:
        _check_fields(props, level, report)
        if code:
            expected = levels.parent_code(code)
            if props.get("parent_code") != expected:
                report("parent_mismatch", f"parent_code {props.get('parent_code')!r} should be {expected!r} "
                                          "(the code's prefix)", expected=expected)

    geometry = _check_geometry_of(feature, level, report)
    if code is None:
        return None
    return _Unit(code, code_level, props.get("parent_code"), geometry, index)


def _check_fields(props: Mapping, level: int | None, report) -> None:
    kind = props.get("kind")
    if level is not None and kind not in levels.KINDS[level]:
        report("kind_invalid", f"kind {kind!r} is not one of {sorted(levels.KINDS[level])} for level {level}",
               allowed=sorted(levels.KINDS[level]))
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        report("name_missing", "name is missing or blank")
    elif len(name) > NAME_MAX:
        report("name_too_long", f"name has {len(name)} characters, at most {NAME_MAX}", length=len(name))
    sides = props.get("four_sides")
    if sides is not None and not (
            isinstance(sides, Mapping) and set(sides) == set(FOUR_SIDES)
            and all(isinstance(v, str) and len(v) <= FOUR_SIDES_MAX for v in sides.values())):
        report("four_sides_invalid", f"four_sides must be an object with texts of at most {FOUR_SIDES_MAX} "
                                     f"characters for exactly {', '.join(FOUR_SIDES)}")


def _check_geometry_of(feature: Mapping, level: int | None, report):
    """Reports what is wrong with the feature's geometry; returns a geometry fit for area checks, or None."""
    raw = feature.get("geometry")
    if raw is None:
        report("geometry_missing", "the feature has no geometry")
        return None
    try:
        geometry = geo.geometry_from_geojson(raw)
    except Exception as exc:  # shapely raises a variety of errors on malformed input
        report("geometry_malformed", f"not a readable GeoJSON geometry: {type(exc).__name__}: {exc}")
        return None
    allowed = levels.GEOMETRY_TYPES.get(level) if level else None
    if allowed and geometry.geom_type not in allowed:
        report("geometry_type_not_allowed", f"a {geometry.geom_type} cannot bound a level-{level} unit "
                                            f"(allowed: {', '.join(sorted(allowed))})",
               geometry_type=geometry.geom_type, allowed=sorted(allowed))
        geometry = None
    if geometry is not None and geometry.is_empty:
        report("geometry_empty", "the geometry has no coordinates")
        return None
    if geometry is None:
        return None
    coords = shapely.get_coordinates(geometry)
    bad = ~geo.valid_lon_lat(coords[:, 0], coords[:, 1])
    if bad.any():
        report("coordinates_invalid", f"{int(bad.sum())} coordinates are not lon in [-180, 180], lat in "
                                      f"[-90, 90] (first: {coords[bad][0].tolist()})")
        return None
    if not shapely.is_valid(geometry):
        reason = shapely.is_valid_reason(geometry)
        report("geometry_invalid", f"invalid geometry: {reason}", reason=reason)
        geometry = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
        if geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
            return None
    return geometry


# --- the tree -------------------------------------------------------------------------

def _check_parents(units: dict[str, _Unit], problems: list[dict]) -> None:
    for unit in units.values():
        if unit.imported and unit.declared_parent and unit.declared_parent not in units:
            problems.append(_problem(unit.feature, unit.code, "parent_unknown",
                                     f"parent {unit.declared_parent} is neither in the import nor registered",
                                     parent_code=unit.declared_parent))
    # Cycles: walk the declared links from each unit; colour 1 = on the current path, 2 = done.
    colour: dict[str, int] = {}
    for start in units:
        path = []
        code = start
        while code in units and colour.get(code, 0) == 0:
            colour[code] = 1
            path.append(code)
            code = units[code].declared_parent
        if code in units and colour.get(code) == 1:  # came back onto the current path
            for member in path[path.index(code):]:
                unit = units[member]
                if unit.imported:
                    problems.append(_problem(unit.feature, member, "parent_cycle",
                                             "following parent_code from this unit comes back to it: "
                                             "its chain never reaches the district (level 1)",
                                             cycle=path[path.index(code):]))
        for member in path:
            colour[member] = 2


def _check_geometry(units: dict[str, _Unit], problems: list[dict], tolerance: float, snap: float) -> None:
    placed = {code: u for code, u in units.items() if u.geometry is not None}
    children: dict[str, list[_Unit]] = defaultdict(list)
    for unit in placed.values():
        parent = levels.parent_code(unit.code)
        if parent:
            children[parent].append(unit)
    _check_containment(placed, problems, snap)
    _check_overlaps(placed, children, problems, tolerance)
    _check_gaps(placed, children, problems, tolerance)


def _polygonal(geometry) -> bool:
    return geometry.geom_type in ("Polygon", "MultiPolygon")


def _check_containment(placed: dict[str, _Unit], problems: list[dict], snap: float) -> None:
    pairs = []
    for unit in placed.values():
        parent = placed.get(levels.parent_code(unit.code) or "")
        if parent is not None and (unit.imported or parent.imported) and _polygonal(parent.geometry):
            pairs.append((unit, parent))
    if not pairs:
        return
    snapped = {}
    for _, parent in pairs:
        if parent.code not in snapped:
            snapped[parent.code] = shapely.buffer(parent.geometry, snap, join_style="mitre")
    outer = np.array([snapped[p.code] for _, p in pairs])
    inner = np.array([u.geometry for u, _ in pairs])
    shapely.prepare(outer)
    covered = shapely.covers(outer, inner)
    for (unit, parent), ok in zip(pairs, covered.tolist()):
        if ok:
            continue
        if unit.geometry.geom_type == "Point":
            line = shapely.shortest_line(unit.geometry, parent.geometry.boundary)
            (x1, y1), (x2, y2) = shapely.get_coordinates(line)
            distance = round(float(geo.distance_m(x1, y1, x2, y2)), 2)
            problems.append(_problem(unit.feature, unit.code, "point_outside_parent",
                                     f"the point lies {distance} m outside its parent {parent.code}",
                                     parent_code=parent.code, distance_m=distance))
        else:
            outside = shapely.difference(unit.geometry, parent.geometry)
            area = round(area_m2(outside), 2)
            problems.append(_problem(unit.feature, unit.code, "outside_parent",
                                     f"{area} m² of it lies outside its parent {parent.code}",
                                     parent_code=parent.code, area_m2=area,
                                     geometry=geo.geometry_to_geojson(outside)))


def _check_overlaps(placed: dict[str, _Unit], children: dict[str, list[_Unit]], problems: list[dict],
                    tolerance: float) -> None:
    """Overlapping siblings: levels 2-4, and level-5 polygons within one level-4 grid."""
    by_level: dict[int, list[_Unit]] = defaultdict(list)
    for siblings in children.values():
        for unit in siblings:
            if _polygonal(unit.geometry):
                by_level[unit.level].append(unit)
    for level in sorted(by_level):
        group = sorted(by_level[level], key=lambda u: u.code)
        geoms = np.array([u.geometry for u in group])
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        same_parent = np.array([group[i].code[:-levels.CODE_DIGITS[level]] == group[j].code[:-levels.CODE_DIGITS[level]]
                                for i, j in zip(left.tolist(), right.tolist())], dtype=bool)
        touched = np.array([group[i].imported or group[j].imported for i, j in zip(left.tolist(), right.tolist())],
                           dtype=bool)
        keep = (left < right) & same_parent & touched
        left, right = left[keep], right[keep]
        if left.size == 0:
            continue
        shared = shapely.intersection(geoms[left], geoms[right])
        for i, j, overlap in zip(left.tolist(), right.tolist(), shared):
            area = area_m2(overlap)
            if area <= tolerance:
                continue
            a, b = group[i], group[j]
            first = a if a.imported else b
            other = b if first is a else a
            polygons = shapely.union_all([p for p in shapely.get_parts(overlap) if _polygonal(p)])
            problems.append(_problem(first.feature, first.code, "siblings_overlap",
                                     f"overlaps {other.code} by {round(area, 2)} m²",
                                     other_code=other.code, other_feature=other.feature,
                                     area_m2=round(area, 2), geometry=geo.geometry_to_geojson(polygons)))


def _check_gaps(placed: dict[str, _Unit], children: dict[str, list[_Unit]], problems: list[dict],
                tolerance: float) -> None:
    """Every level-1..3 unit must be covered by its children (全覆盖、无死角)."""
    for code in sorted(placed):
        unit = placed[code]
        if unit.level > 3 or not _polygonal(unit.geometry):
            continue
        kids = [k for k in children.get(code, ()) if _polygonal(k.geometry)]
        if not (unit.imported or any(k.imported for k in kids)):
            continue
        child_level = f"level-{unit.level + 1} unit ({levels.LEVEL_NAMES[unit.level + 1]})"
        if not kids:
            area = round(area_m2(unit.geometry), 2)
            problems.append(_problem(unit.feature, code, "no_children",
                                     f"it has no {child_level} at all: none of its {area} m² is covered",
                                     area_m2=area, children=0))
            continue
        uncovered = shapely.difference(unit.geometry, shapely.union_all([k.geometry for k in kids]))
        parts = [p for p in shapely.get_parts(uncovered) if _polygonal(p) and area_m2(p) > tolerance]
        if not parts:
            continue
        gap = shapely.union_all(parts)
        area = round(area_m2(gap), 2)
        problems.append(_problem(unit.feature, code, "coverage_gap", f"{area} m² of it is in no {child_level}",
                                 area_m2=area, children=len(kids), geometry=geo.geometry_to_geojson(gap)))


# --- reorganisations ------------------------------------------------------------------

def same_area(old: Iterable, new: Iterable, *, area_tolerance_m2: float = AREA_TOLERANCE_M2) -> dict | None:
    """None if the `new` GeoJSON geometries cover the same area as the `old` ones (a split or
    merge), else an `area_changed` problem with the area lost and gained and where.
    Unreadable geometries count as covering nothing (validate_import names them)."""
    before = shapely.union_all([g for g in map(_readable, old) if g is not None])
    after = shapely.union_all([g for g in map(_readable, new) if g is not None])
    lost = [p for p in shapely.get_parts(shapely.difference(before, after)) if _polygonal(p)]
    gained = [p for p in shapely.get_parts(shapely.difference(after, before)) if _polygonal(p)]
    lost_m2 = round(sum(area_m2(p) for p in lost if area_m2(p) > area_tolerance_m2), 2)
    gained_m2 = round(sum(area_m2(p) for p in gained if area_m2(p) > area_tolerance_m2), 2)
    if not (lost_m2 or gained_m2):
        return None
    changed = shapely.union_all([p for p in lost + gained if area_m2(p) > area_tolerance_m2])
    return _problem(None, None, "area_changed",
                    f"the new units leave out {lost_m2} m² of the old ones and add {gained_m2} m²",
                    lost_m2=lost_m2, gained_m2=gained_m2, geometry=geo.geometry_to_geojson(changed))


def containing_parent(child, parents: Iterable[tuple[str, Any]], *,
                      snap_degrees: float = SNAP_DEGREES) -> str | None:
    """The code of the parent a child (GeoJSON geometry) belongs in, among (code, GeoJSON geometry) pairs.

    The parent that covers it (within `snap_degrees`); if several do - a point on a shared
    edge - the lowest code, as Locator decides. Else the one holding the largest part of it
    (a polygon straddling a new border), else the nearest one (lowest code among equals).
    None when there are no readable parents.
    """
    geometry = _readable(child)
    candidates = sorted((code, g) for code, g in ((c, _readable(raw)) for c, raw in parents) if g is not None)
    if geometry is None or not candidates:
        return None
    codes = [c for c, _ in candidates]
    geoms = np.array([g for _, g in candidates])
    covering = shapely.covers(shapely.buffer(geoms, snap_degrees, join_style="mitre"), geometry)
    if covering.any():
        return codes[int(np.argmax(covering))]
    if _polygonal(geometry):
        shares = shapely.area(shapely.intersection(geoms, geometry))
        if shares.max() > 0:
            return codes[int(np.argmax(shares))]
    return codes[int(np.argmin(shapely.distance(geoms, geometry)))]


def straddling_children(children: Iterable[tuple[str, Any]], parents: Iterable[tuple[str, Any]], *,
                        snap_degrees: float = SNAP_DEGREES) -> list[dict]:
    """`straddles_new_border` problems for children (code, GeoJSON) that no single new parent covers.

    A split must not cut through a point or compound: it would end up outside whichever
    new grid it is moved under. Such a split is refused until the unit is redrawn.
    """
    candidates = [g for g in (_readable(raw) for _, raw in parents) if g is not None]
    if not candidates:
        return []
    grown = shapely.buffer(np.array(candidates), snap_degrees, join_style="mitre")
    problems = []
    for code, raw in children:
        geometry = _readable(raw)
        if geometry is not None and not shapely.covers(grown, geometry).any():
            problems.append(_problem(None, code, "straddles_new_border",
                                     f"{code} lies across the new grids' border; redraw it first"))
    return problems
