"""Import validation: every rule shown on a tiny district, every problem reported in one pass.

The tiny district, in cells of U = 0.01 degree (about 900 m x 1,100 m) near Jincheng:

    y=2 +----+----+---------+          towns 001 (x 0..2) and 002 (x 2..4)
        |    |    | 002002  |          villages 001001, 001002 (columns), 002001, 002002 (rows)
    y=1 +----+----+---------+          each village: two grids (001 south/west, 002 north/east)
        |    |    | 002001  |          grid 001001001 holds two level-5 polygons and one point
    y=0 +----+----+---------+
        x=0  x=1  x=2       x=4
"""
import copy
import json
import math
import time

import pytest
import shapely
from shapely.geometry import box, mapping, shape

from grid_registry import levels
from servicekit import geo
from grid_registry.levels import DISTRICT_CODE as D
from grid_registry.validation import containing_parent, same_area, validate_import

X0, Y0, U = 112.80, 35.45, 0.01
W, E = D + "001", D + "002"
V1, V2, V3, V4 = W + "001", W + "002", E + "001", E + "002"
G = V1 + "001"  # the grid holding the level-5 units
P1, P2, PT = G + "0001", G + "0002", G + "0003"
KIND = {1: "district", 2: "subdistrict", 3: "community", 4: "area", 5: "enterprise"}


def xy(i, j):
    return X0 + i * U, Y0 + j * U


def cells(i0, j0, i1, j1):
    return mapping(box(*xy(i0, j0), *xy(i1, j1)))


def feature(code, geometry, **props):
    level = levels.level_of_code(code)
    return {"type": "Feature", "geometry": geometry, "properties": {
        "code": code, "name": f"单元{code[-4:]}", "level": level, "parent_code": levels.parent_code(code),
        "kind": KIND[level], "four_sides": {"east": "东至路", "south": "南至河", "west": "西至街", "north": "北至山"},
        **props}}


def tiny_features():
    return [
        feature(D, cells(0, 0, 4, 2)),
        feature(W, cells(0, 0, 2, 2)), feature(E, cells(2, 0, 4, 2)),
        feature(V1, cells(0, 0, 1, 2)), feature(V2, cells(1, 0, 2, 2)),
        feature(V3, cells(2, 0, 4, 1)), feature(V4, cells(2, 1, 4, 2)),
        feature(V1 + "001", cells(0, 0, 1, 1)), feature(V1 + "002", cells(0, 1, 1, 2)),
        feature(V2 + "001", cells(1, 0, 2, 1)), feature(V2 + "002", cells(1, 1, 2, 2)),
        feature(V3 + "001", cells(2, 0, 3, 1)), feature(V3 + "002", cells(3, 0, 4, 1)),
        feature(V4 + "001", cells(2, 1, 3, 2)), feature(V4 + "002", cells(3, 1, 4, 2)),
        feature(P1, cells(0.2, 0.2, 0.4, 0.4), kind="residential_compound"),
        feature(P2, cells(0.5, 0.5, 0.7, 0.7), kind="market"),
        feature(PT, mapping(shapely.Point(*xy(0.8, 0.2)))),
    ]


def collection(features):
    return {"type": "FeatureCollection", "features": features}


def tiny():
    return collection(tiny_features())


def index_of(data, code):
    return next(i for i, f in enumerate(data["features"]) if (f.get("properties") or {}).get("code") == code)


def props_of(data, code):
    return data["features"][index_of(data, code)]["properties"]


def drop(data, *codes):
    data["features"] = [f for f in data["features"] if f["properties"]["code"] not in codes]
    return data


def kinds(problems):
    return sorted(p["problem"] for p in problems)


def only(problems, kind):
    return [p for p in problems if p["problem"] == kind]


def cell_area_m2(width_cells, height_cells, lat=Y0 + U):
    """Independent figure: a sphere of radius 6,371 km (within 0.5 % of the ellipsoid here)."""
    metre_per_degree = 6_371_008.8 * math.pi / 180
    return width_cells * U * metre_per_degree * math.cos(math.radians(lat)) * height_cells * U * metre_per_degree


# --- the good case ----------------------------------------------------------------------

def test_a_valid_tiny_district_yields_no_problems():
    assert validate_import(tiny()) == []


def test_four_sides_may_be_left_out():
    data = tiny()
    for f in data["features"]:
        del f["properties"]["four_sides"]
    assert validate_import(data) == []


def test_float_noise_on_shared_boundaries_is_not_a_problem():
    data = tiny()
    (x0, y0), (x1, y1) = xy(0, 0), xy(1, 1)
    # 1e-12 degrees into its sibling to the north (an overlap of about 1e-4 m²) and
    # beyond its village to the east (covered by the 1e-9 degree snap).
    data["features"][index_of(data, V1 + "001")]["geometry"] = mapping(box(x0, y0, x1 + 1e-12, y1 + 1e-12))
    assert validate_import(data) == []


def test_every_problem_has_the_common_keys():
    data = tiny()
    props_of(data, V3)["name"] = ""
    data["features"].append("junk")
    for p in validate_import(data) + validate_import([]):
        assert {"feature", "code", "problem", "message"} <= set(p)
        assert isinstance(p["message"], str) and p["message"]
        json.dumps(p)  # plain data


def test_all_problems_are_reported_at_once():
    data = tiny()
    props_of(data, V3)["name"] = ""                       # 1: name_missing
    props_of(data, V4 + "001")["kind"] = "market"          # 2: kind_invalid
    data["features"].append(copy.deepcopy(data["features"][index_of(data, V2 + "002")]))  # 3: duplicate_code
    problems = validate_import(data)
    assert kinds(problems) == ["duplicate_code", "kind_invalid", "name_missing"]
    assert {p["code"] for p in problems} == {V3, V4 + "001", V2 + "002"}


# --- the collection and its features ------------------------------------------------------

@pytest.mark.parametrize("data", [None, [], {"type": "Feature"}, {"type": "FeatureCollection"},
                                  {"type": "FeatureCollection", "features": {}}])
def test_not_feature_collection(data):
    assert validate_import(data) == [{"feature": None, "code": None, "problem": "not_feature_collection",
                                      "message": "expected a GeoJSON FeatureCollection with a list of features"}]


@pytest.mark.parametrize("item", ["junk", 7, {"type": "Point", "coordinates": [1, 2]}])
def test_feature_invalid(item):
    data = tiny()
    data["features"].append(item)
    assert [(p["problem"], p["feature"]) for p in validate_import(data)] == [("feature_invalid", 18)]


def test_properties_missing():
    data = tiny()
    data["features"].append({"type": "Feature", "geometry": cells(0, 0, 1, 1), "properties": None})
    assert kinds(validate_import(data)) == ["properties_missing"]


def test_geometry_missing():
    data = tiny()
    data["features"][index_of(data, P2)]["geometry"] = None
    assert [(p["problem"], p["code"]) for p in validate_import(data)] == [("geometry_missing", P2)]


# --- fields -----------------------------------------------------------------------------

@pytest.mark.parametrize("code", [None, "", "99", "14050200100100", "1405020010010010x1", 140502001001001])
def test_code_invalid(code):
    data = tiny()
    props_of(data, P2)["code"] = code
    assert kinds(validate_import(data)) == ["code_invalid"]


@pytest.mark.parametrize("level", [None, "4", 0, 6, True, 4.0])
def test_level_invalid(level):
    data = tiny()
    props_of(data, V1 + "002")["level"] = level
    assert kinds(validate_import(data)) == ["level_invalid"]


def test_level_mismatch():
    data = tiny()
    props_of(data, V1 + "002")["level"] = 3
    problems = validate_import(data)
    assert kinds(problems) == ["level_mismatch"] and problems[0]["expected"] == 4


@pytest.mark.parametrize("code, kind", [(V1, "town"), (W, "village"), (G, None), (P1, "area"), (D, "subdistrict")])
def test_kind_invalid(code, kind):
    data = tiny()
    props_of(data, code)["kind"] = kind
    problems = validate_import(data)
    assert kinds(problems) == ["kind_invalid"]
    assert problems[0]["allowed"] == sorted(levels.KINDS[levels.level_of_code(code)])


@pytest.mark.parametrize("name", [None, "", "   ", 42])
def test_name_missing(name):
    data = tiny()
    props_of(data, V2)["name"] = name
    assert kinds(validate_import(data)) == ["name_missing"]


def test_name_too_long():
    data = tiny()
    props_of(data, V2)["name"] = "网" * 100
    assert validate_import(data) == []
    props_of(data, V2)["name"] = "网" * 101
    assert kinds(validate_import(data)) == ["name_too_long"]


@pytest.mark.parametrize("sides", [{"east": "x"}, "东至路", {"east": "", "south": "", "west": "", "north": 1},
                                   {"east": "", "south": "", "west": "", "north": "x" * 201},
                                   {"east": "", "south": "", "west": "", "north": "", "up": ""}])
def test_four_sides_invalid(sides):
    data = tiny()
    props_of(data, G)["four_sides"] = sides
    assert kinds(validate_import(data)) == ["four_sides_invalid"]


# --- geometry ---------------------------------------------------------------------------

@pytest.mark.parametrize("geometry", [
    {"type": "Polygon", "coordinates": [[[112.8, 35.45], [112.81, 35.46]]]},  # too few points for a ring
    {"type": "Blob", "coordinates": []},
    {"type": "Polygon"},
    "not json",
])
def test_geometry_malformed(geometry):
    data = tiny()
    data["features"][index_of(data, P2)]["geometry"] = geometry
    assert kinds(validate_import(data)) == ["geometry_malformed"]


@pytest.mark.parametrize("code, geometry", [
    (V1 + "002", {"type": "Point", "coordinates": list(xy(0.5, 1.5))}),
    (P2, {"type": "LineString", "coordinates": [list(xy(0.5, 0.5)), list(xy(0.6, 0.6))]}),
    (P2, mapping(shapely.MultiPolygon([box(*xy(0.5, 0.5), *xy(0.6, 0.6)), box(*xy(0.7, 0.7), *xy(0.8, 0.8))]))),
])
def test_geometry_type_not_allowed(code, geometry):
    data = tiny()
    data["features"][index_of(data, code)]["geometry"] = geometry
    problems = only(validate_import(data), "geometry_type_not_allowed")
    assert [(p["code"], p["geometry_type"]) for p in problems] == [(code, geometry["type"])]


def test_coordinates_invalid():
    data = tiny()
    data["features"][index_of(data, PT)]["geometry"] = {"type": "Point", "coordinates": [112.8, 95.0]}
    assert kinds(validate_import(data)) == ["coordinates_invalid"]


def test_geometry_empty():
    data = tiny()
    data["features"][index_of(data, P2)]["geometry"] = {"type": "Polygon", "coordinates": []}
    assert kinds(validate_import(data)) == ["geometry_empty"]


def test_geometry_invalid_says_why():
    data = tiny()
    (x0, y0), (x1, y1) = xy(0, 1), xy(1, 2)
    bow_tie = {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]]}
    data["features"][index_of(data, V1 + "002")]["geometry"] = bow_tie
    problems = validate_import(data)
    invalid = only(problems, "geometry_invalid")
    assert [p["code"] for p in invalid] == [V1 + "002"]
    assert invalid[0]["reason"].startswith("Self-intersection")
    # Repaired for the area checks: the two triangles leave half the cell uncovered.
    gap = only(problems, "coverage_gap")
    assert [p["code"] for p in gap] == [V1]
    assert gap[0]["area_m2"] == pytest.approx(cell_area_m2(0.5, 1), rel=0.005)


# --- the tree ---------------------------------------------------------------------------

def test_duplicate_code():
    data = tiny()
    data["features"].append(copy.deepcopy(data["features"][index_of(data, V3 + "001")]))
    problems = validate_import(data)
    assert [(p["problem"], p["feature"], p["first_feature"]) for p in problems] == \
        [("duplicate_code", 18, index_of(data, V3 + "001"))]


@pytest.mark.parametrize("code, parent", [(V1 + "002", V2), (W, None), (D, W), (V1, V1)])
def test_parent_mismatch(code, parent):
    data = tiny()
    props_of(data, code)["parent_code"] = parent
    problems = validate_import(data)
    assert only(problems, "parent_mismatch")[0]["expected"] == levels.parent_code(code)
    assert set(kinds(problems)) <= {"parent_mismatch", "parent_cycle"}


def test_parent_unknown():
    data = drop(tiny(), E)
    problems = validate_import(data)
    assert [(p["code"], p["parent_code"]) for p in only(problems, "parent_unknown")] == [(V3, E), (V4, E)]
    assert [p["code"] for p in only(problems, "coverage_gap")] == [D]  # the town's area is now uncovered


def test_a_parent_already_registered_is_known():
    data = tiny()
    registered = [{"code": f["properties"]["code"], "level": f["properties"]["level"],
                   "parent_code": f["properties"]["parent_code"], "geometry": f["geometry"]}
                  for f in data["features"][:7]]
    data["features"] = data["features"][7:]
    assert validate_import(data, existing=registered) == []


def test_parent_cycle():
    data = tiny()
    a, b = D + "003", D + "004"
    data["features"] += [feature(a, cells(5, 0, 6, 1), parent_code=b), feature(b, cells(6, 0, 7, 1), parent_code=a)]
    problems = validate_import(data)
    cycles = only(problems, "parent_cycle")
    assert sorted(p["code"] for p in cycles) == [a, b]
    assert sorted(cycles[0]["cycle"]) == [a, b]


def test_outside_parent_reports_the_area_outside():
    data = tiny()
    data["features"][index_of(data, V1 + "001")]["geometry"] = cells(0, 0, 1.1, 1)
    problems = validate_import(data)
    assert kinds(problems) == ["outside_parent"]
    p = problems[0]
    assert (p["code"], p["parent_code"], p["feature"]) == (V1 + "001", V1, index_of(data, V1 + "001"))
    assert p["area_m2"] == pytest.approx(cell_area_m2(0.1, 1), rel=0.005)
    assert shape(p["geometry"]).equals(box(*xy(1, 0), *xy(1.1, 1)))


def test_a_level5_polygon_outside_its_grid():
    data = tiny()
    data["features"][index_of(data, P2)]["geometry"] = cells(0.9, 0.5, 1.2, 0.7)
    assert [(p["problem"], p["code"]) for p in validate_import(data)] == [("outside_parent", P2)]


def test_point_outside_parent():
    data = tiny()
    data["features"][index_of(data, PT)]["geometry"] = mapping(shapely.Point(*xy(1.5, 0.5)))
    problems = validate_import(data)
    assert kinds(problems) == ["point_outside_parent"]
    kx, _ = geo.metres_per_degree(Y0)
    assert problems[0]["distance_m"] == pytest.approx(0.5 * U * kx, rel=0.005)


@pytest.mark.parametrize("code, other, geometry, area_cells", [
    (V1 + "001", V1 + "002", cells(0, 0, 1, 1.2), (1, 0.2)),   # level 4, within one village
    (V1, V2, cells(0, 0, 1.25, 2), (0.25, 2)),                 # level 3
    (P1, P2, cells(0.2, 0.2, 0.6, 0.6), (0.1, 0.1)),           # level 5 polygons in one grid
])
def test_siblings_overlap(code, other, geometry, area_cells):
    data = tiny()
    data["features"][index_of(data, code)]["geometry"] = geometry
    overlaps = only(validate_import(data), "siblings_overlap")
    assert [(p["code"], p["other_code"]) for p in overlaps] == [(code, other)]
    assert overlaps[0]["area_m2"] == pytest.approx(cell_area_m2(*area_cells), rel=0.005)
    assert shape(overlaps[0]["geometry"]).area > 0


def test_siblings_overlap_at_level_2():
    data = tiny()
    data["features"][index_of(data, W)]["geometry"] = cells(0, 0, 2.5, 2)
    problems = validate_import(data)
    assert [(p["code"], p["other_code"]) for p in only(problems, "siblings_overlap")] == [(W, E)]
    assert [p["code"] for p in only(problems, "coverage_gap")] == [W]  # its villages do not reach x=2.5


def test_touching_and_contained_units_of_different_parents_are_not_siblings():
    data = tiny()
    # A compound drawn over grid 001001001's edge into the neighbouring village's grid:
    # outside its own parent, but no "overlap" with a unit of another grid.
    data["features"].append(feature(V2 + "001" + "0001", cells(0.9, 0.1, 1.1, 0.3), kind="market"))
    assert kinds(validate_import(data)) == ["outside_parent"]


def test_coverage_gap_reports_the_uncovered_area():
    data = drop(tiny(), V4 + "002")
    problems = validate_import(data)
    assert [(p["problem"], p["code"], p["children"]) for p in problems] == [("coverage_gap", V4, 1)]
    assert problems[0]["area_m2"] == pytest.approx(cell_area_m2(1, 1), rel=0.005)
    assert shape(problems[0]["geometry"]).equals(box(*xy(3, 1), *xy(4, 2)))


def test_a_unit_with_no_children_at_all():
    data = drop(tiny(), V4 + "001", V4 + "002")
    problems = validate_import(data)
    assert [(p["problem"], p["code"]) for p in problems] == [("no_children", V4)]
    assert problems[0]["area_m2"] == pytest.approx(cell_area_m2(2, 1), rel=0.005)


def test_level4_grids_need_no_level5_units():
    assert validate_import(drop(tiny(), P1, P2, PT)) == []


# --- partial imports --------------------------------------------------------------------

def records(features):
    return [{"code": f["properties"]["code"], "level": f["properties"]["level"],
             "parent_code": f["properties"]["parent_code"], "geometry": f["geometry"]} for f in features]


def test_a_partial_import_is_checked_against_the_registered_grids():
    everything = tiny_features()
    registered = records(everything[:9])  # down to village 001001's grids
    assert validate_import(collection(everything[9:]), existing=registered) == []
    # Registered grids given as GeoJSON Features are read too.
    assert validate_import(collection(everything[9:]), existing=everything[:9]) == []


def test_a_partial_import_finds_overlaps_and_gaps_with_registered_grids():
    everything = tiny_features()
    registered = records(everything[:8])  # village 001001 has only its grid 001
    new = feature(V1 + "002", cells(0, 0.8, 1, 1.8))  # overlaps the registered 001, leaves a strip
    problems = validate_import(collection([new]), existing=registered)
    assert [(p["problem"], p["code"]) for p in problems] == [("siblings_overlap", V1 + "002"),
                                                             ("coverage_gap", V1)]
    assert problems[0]["other_feature"] is None
    assert problems[1]["feature"] is None  # the village is registered, not in the import


def test_untouched_registered_grids_are_not_rechecked():
    everything = tiny_features()
    registered = records(everything[:3])  # district and towns, no villages yet
    problems = validate_import(collection([everything[3]]), existing=registered)
    # Town 002 has no villages either, but the import does not touch it.
    assert {(p["problem"], p["code"]) for p in problems} == {("coverage_gap", W), ("no_children", V1)}


def test_an_imported_unit_replaces_the_registered_one_of_the_same_code():
    everything = tiny_features()
    registered = records(everything)
    registered[7]["geometry"] = cells(0, 0, 3, 3)  # the registered 001001001 was drawn wrong
    assert validate_import(collection([everything[7]]), existing=registered) == []


def test_retired_registered_grids_are_ignored():
    everything = tiny_features()
    registered = records(everything[:8]) + [{**records([feature(V1 + "009", cells(0, 1, 1, 2))])[0],
                                             "status": "retired"}]
    assert validate_import(collection(everything[8:]), existing=registered) == []


# --- speed ------------------------------------------------------------------------------

def test_a_district_of_thousands_of_units_validates_in_seconds():
    features = [feature(D, cells(0, 0, 40, 20))]
    for t in range(8):
        town = levels.child_code(D, t + 1)
        features.append(feature(town, cells(5 * t, 0, 5 * t + 5, 20)))
        for v in range(20):
            village = levels.child_code(town, v + 1)
            features.append(feature(village, cells(5 * t, v, 5 * t + 5, v + 1)))
            for g in range(5):
                grid = levels.child_code(village, g + 1)
                features.append(feature(grid, cells(5 * t + g, v, 5 * t + g + 1, v + 1)))
                for k in range(6):
                    x, y = 5 * t + g + 0.1 + 0.15 * k, v + 0.5
                    geometry = cells(x, y, x + 0.1, y + 0.1) if k % 2 else mapping(shapely.Point(*xy(x, y)))
                    features.append(feature(levels.child_code(grid, k + 1), geometry))
    started = time.perf_counter()
    assert validate_import(collection(features)) == []
    assert time.perf_counter() - started < 10
    assert len(features) > 5000


# --- reorganisations --------------------------------------------------------------------

def test_same_area_accepts_a_split_that_covers_the_old_grid():
    old = [cells(0, 0, 1, 1)]
    assert same_area(old, [cells(0, 0, 1, 0.4), cells(0, 0.4, 1, 1)]) is None
    assert same_area([cells(0, 0, 1, 1), cells(1, 0, 2, 1)], [cells(0, 0, 2, 1)]) is None  # a merge


def test_same_area_refuses_a_split_that_loses_or_adds_area():
    problem = same_area([cells(0, 0, 1, 1)], [cells(0, 0, 1, 0.5), cells(0, 0.5, 1.2, 1)])
    assert problem["problem"] == "area_changed"
    assert problem["lost_m2"] == 0
    assert problem["gained_m2"] == pytest.approx(cell_area_m2(0.2, 0.5), rel=0.005)
    problem = same_area([cells(0, 0, 1, 1)], [cells(0, 0, 1, 0.5)])
    assert problem["lost_m2"] == pytest.approx(cell_area_m2(1, 0.5), rel=0.005)


def test_containing_parent():
    parents = [(V2 + "002", cells(0, 0.5, 1, 1)), (V2 + "001", cells(0, 0, 1, 0.5))]
    assert containing_parent(mapping(shapely.Point(*xy(0.5, 0.2))), parents) == V2 + "001"
    assert containing_parent(mapping(shapely.Point(*xy(0.5, 0.7))), parents) == V2 + "002"
    assert containing_parent(mapping(shapely.Point(*xy(0.5, 0.5))), parents) == V2 + "001"  # on the edge: lowest
    assert containing_parent(cells(0.1, 0.4, 0.2, 0.9), parents) == V2 + "002"  # straddling: the larger share
    assert containing_parent(mapping(shapely.Point(*xy(0.5, 1.3))), parents) == V2 + "002"  # nearest
    assert containing_parent(cells(0, 0, 1, 1), []) is None
