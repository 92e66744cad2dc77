"""Locator: the deepest unit containing a point, with its chain.

The hand-built district, in cells of U = 0.01 degree (about 900 m x 1,100 m) near Jincheng:

    y=4 +---------+---------+----+
        | 001002  |  002    |    |     001, 002: towns (level 2); x in [4, 5]: no town
        | 4 grids | (no     | L1 |     001001, 001002, 002001: villages (level 3)
    y=2 +---------+ village)|only|     002001 has 3 grids, its cell (3..4, 1..2) has none
        | 001001  | 002001  |    |     every other village: 2x2 grids of 1x1 cells
        | 4 grids | 3 grids |    |     in grid 001001001: a level-5 polygon and a level-5 point
    y=0 +---------+---------+----+
        x=0       x=2       x=4  x=5
"""
import random

import numpy as np
import pytest
import shapely
from shapely.geometry import box, mapping

from servicekit import geo
from grid_registry.levels import DISTRICT_CODE as D
from grid_registry.locate import OUTSIDE, Locator

X0, Y0, U = 112.80, 35.45, 0.01


def xy(i, j):
    """Cell coordinates -> lon/lat; boxes and query points use the same arithmetic, so edges are exact."""
    return X0 + i * U, Y0 + j * U


def cell_box(i0, j0, i1, j1):
    return box(*xy(i0, j0), *xy(i1, j1))


def record(code, geometry, level=None, **extra):
    return {"code": code, "level": level or {6: 1, 9: 2, 12: 3, 15: 4, 19: 5}[len(code)],
            "parent_code": None if len(code) == 6 else code[:{9: 6, 12: 9, 15: 12, 19: 15}[len(code)]],
            "geometry": mapping(geometry), **extra}


W, E = D + "001", D + "002"
SW, NW, SE = W + "001", W + "002", E + "001"
COMPOUND, GATE = SW + "001" + "0001", SW + "001" + "0002"
GATE_XY = xy(0.7, 0.7)


def grids_2x2(village, i0, j0, skip=()):
    cells = [(0, 0), (1, 0), (0, 1), (1, 1)]  # numbered 001 (south-west) .. 004 (north-east)
    return [record(village + f"{n:03d}", cell_box(i0 + di, j0 + dj, i0 + di + 1, j0 + dj + 1))
            for n, (di, dj) in enumerate(cells, start=1) if n not in skip]


def district_records():
    return [
        record(D, cell_box(0, 0, 5, 4)),
        record(W, cell_box(0, 0, 2, 4)), record(E, cell_box(2, 0, 4, 4)),
        record(SW, cell_box(0, 0, 2, 2)), record(NW, cell_box(0, 2, 2, 4)), record(SE, cell_box(2, 0, 4, 2)),
        *grids_2x2(SW, 0, 0), *grids_2x2(NW, 0, 2), *grids_2x2(SE, 2, 0, skip=(4,)),
        record(COMPOUND, cell_box(0.2, 0.2, 0.4, 0.4)),
        record(GATE, shapely.Point(*GATE_XY)),
    ]


@pytest.fixture(scope="module")
def locator():
    return Locator(district_records())


def metres_east(point, metres):
    kx, _ = geo.metres_per_degree(point[1])
    return point[0] + metres / kx, point[1]


# --- inside each level ------------------------------------------------------------------

def test_a_point_in_a_grid_gets_the_grid_and_its_chain(locator):
    loc = locator.locate(*xy(1.5, 3.5))
    assert loc.inside and loc.code == NW + "004" and loc.level == 4
    assert loc.chain == (D, W, NW, NW + "004")


def test_a_point_in_a_level5_polygon_gets_the_level5_unit(locator):
    loc = locator.locate(*xy(0.3, 0.3))
    assert (loc.code, loc.level, loc.chain) == (COMPOUND, 5, (D, W, SW, SW + "001", COMPOUND))


def test_a_point_in_a_gap_between_grids_gets_the_village(locator):
    assert locator.locate(*xy(3.5, 1.5)).chain == (D, E, SE)


def test_a_point_in_a_town_without_villages_gets_the_town(locator):
    assert locator.locate(*xy(3.0, 3.0)).chain == (D, E)


def test_a_point_only_the_district_covers_gets_the_district(locator):
    loc = locator.locate(*xy(4.5, 2.0))
    assert (loc.code, loc.level, loc.chain) == (D, 1, (D,))


# --- ties -------------------------------------------------------------------------------

TIES = [
    (xy(1, 0.5), SW + "001"),       # edge between two grids of one village
    (xy(1.5, 2), SW + "004"),       # edge between grids of two villages (001001 / 001002)
    (xy(2, 0.5), SW + "002"),       # edge between grids of two towns (001 / 002)
    (xy(1, 1), SW + "001"),         # vertex shared by four grids
    (xy(2, 2), SW + "004"),         # vertex shared by two towns, three villages' grids and a town's gap
    (xy(0.2, 0.3), COMPOUND),       # a level-5 polygon's edge counts as inside it
]


@pytest.mark.parametrize("point, winner", TIES)
def test_on_a_shared_edge_or_vertex_the_lowest_code_wins(locator, point, winner):
    assert locator.locate(*point).code == winner


def test_the_tie_break_does_not_depend_on_record_order_or_repetition(locator):
    records = district_records()
    random.Random(7).shuffle(records)
    shuffled = Locator(records)
    for point, winner in TIES:
        answers = {locator.locate(*point).code for _ in range(20)} | {shuffled.locate(*point).code}
        assert answers == {winner}


def test_the_district_outline_is_inside(locator):
    assert locator.locate(*xy(0, 0.5)).code == SW + "001"
    assert locator.locate(*xy(5, 0.5)).code == D


# --- outside ----------------------------------------------------------------------------

@pytest.mark.parametrize("point", [xy(-1, 2), xy(2, 4.01), xy(5.001, 0.5), (0.0, 0.0), (-75.0, 40.0)])
def test_a_point_outside_the_district_is_outside_not_a_guess(locator, point):
    loc = locator.locate(*point)
    assert loc == OUTSIDE
    assert (loc.inside, loc.code, loc.level, loc.chain) == (False, None, None, ())


def test_near_a_level5_point_but_outside_the_district_is_outside():
    border_gate = SW + "003" + "0001"
    gate = xy(0.02, 1.5)  # about 18 m inside the western border
    loc = Locator(district_records() + [record(border_gate, shapely.Point(*gate))])
    assert loc.locate(*metres_east(gate, -5)).code == border_gate
    assert loc.locate(*metres_east(gate, -25)) == OUTSIDE  # 7 m outside the district, 25 m from the gate


@pytest.mark.parametrize("lon, lat", [(181.0, 35.0), (112.0, float("nan")), ("112.8", 35.4)])
def test_a_bad_coordinate_is_refused(locator, lon, lat):
    with pytest.raises(ValueError):
        locator.locate(lon, lat)


# --- level-5 points ---------------------------------------------------------------------

def test_a_level5_point_captures_reports_within_its_radius(locator):
    assert locator.point_radius_m == 30
    assert locator.locate(*GATE_XY).code == GATE
    assert locator.locate(*metres_east(GATE_XY, 20)).code == GATE
    assert locator.locate(*metres_east(GATE_XY, -29)).code == GATE
    beyond = locator.locate(*metres_east(GATE_XY, 40))
    assert (beyond.code, beyond.chain) == (SW + "001", (D, W, SW, SW + "001"))


def test_the_radius_is_configurable():
    wide = Locator(district_records(), point_radius_m=50)
    assert wide.locate(*metres_east(GATE_XY, 40)).code == GATE
    assert Locator(district_records(), point_radius_m=0).locate(*metres_east(GATE_XY, 1)).code == SW + "001"


def test_the_nearest_level5_point_wins():
    other = SW + "001" + "0003"
    records = district_records() + [record(other, shapely.Point(*metres_east(GATE_XY, 40)))]
    loc = Locator(records)
    assert loc.locate(*metres_east(GATE_XY, 15)).code == GATE
    assert loc.locate(*metres_east(GATE_XY, 25)).code == other


def test_between_level5_points_at_the_same_place_the_lowest_code_wins():
    twin = SW + "001" + "0001"  # lower than GATE (...0002), marked at the same gate
    loc = Locator(district_records()[:-2] + [record(GATE, shapely.Point(*GATE_XY)),
                                              record(twin, shapely.Point(*GATE_XY))])
    assert loc.locate(*metres_east(GATE_XY, 10)).code == twin
    assert loc.locate_many(*np.array([metres_east(GATE_XY, 10)]).T) == [loc.locate(*metres_east(GATE_XY, 10))]


def test_a_level5_polygon_beats_a_nearby_level5_point():
    records = district_records() + [record(SW + "001" + "0003", shapely.Point(*metres_east(xy(0.4, 0.3), 10)))]
    assert Locator(records).locate(*xy(0.39, 0.3)).code == COMPOUND


# --- datum ------------------------------------------------------------------------------

def test_a_gcj02_point_lands_in_the_same_grid_as_its_wgs84_original(locator):
    for point in (xy(1.5, 3.5), xy(0.5, 2.5), xy(2.5, 0.5), xy(0.3, 0.3), GATE_XY):
        mars = geo.wgs84_to_gcj02(*point)
        assert locator.locate(*mars, datum="gcj02") == locator.locate(*point)
    # Taken as WGS-84, the same GCJ-02 numbers land some 550 m away, in another unit.
    mars = geo.wgs84_to_gcj02(*xy(1.5, 3.5))
    assert locator.locate(*mars).code != NW + "004"


# --- retired grids ----------------------------------------------------------------------

def test_retired_grids_are_left_out():
    records = district_records()
    for r in records:
        if r["code"] in (NW + "004", GATE):
            r["status"] = "retired"
        else:
            r["status"] = "active"
    loc = Locator(records)
    assert loc.locate(*xy(1.5, 3.5)).chain == (D, W, NW)  # falls back to the village
    assert loc.locate(*GATE_XY).code == SW + "001"
    assert len(loc) == len(records) - 2


def test_a_replacement_grid_takes_over_from_a_retired_one():
    records = [r for r in district_records() if r["code"] != NW + "004"]
    records += [record(NW + "004", cell_box(1, 3, 2, 4), status="retired"),
                record(NW + "005", cell_box(1, 3, 2, 4), status="active")]
    assert Locator(records).locate(*xy(1.5, 3.5)).code == NW + "005"


# --- batches ----------------------------------------------------------------------------

def random_points(n, seed):
    rng = np.random.default_rng(seed)
    lons = rng.uniform(*sorted((xy(-0.5, 0)[0], xy(5.5, 0)[0])), n)
    lats = rng.uniform(*sorted((xy(0, -0.5)[1], xy(0, 4.5)[1])), n)
    special = [xy(*p) for p in ((1, 0.5), (1, 1), (2, 2), (0.3, 0.3), (3.5, 1.5), (3, 3), (4.5, 2), (-1, 2))]
    special += [GATE_XY, metres_east(GATE_XY, 20), metres_east(GATE_XY, 40)]
    return np.r_[lons, [p[0] for p in special]], np.r_[lats, [p[1] for p in special]]


def test_locate_many_equals_locate_for_a_random_batch(locator):
    lons, lats = random_points(3000, seed=11)
    many = locator.locate_many(lons, lats)
    assert many == [locator.locate(lon, lat) for lon, lat in zip(lons.tolist(), lats.tolist())]
    assert {loc.level for loc in many} == {None, 1, 2, 3, 4, 5}  # every branch was exercised


def test_locate_many_equals_locate_with_level5_points_everywhere():
    rng = np.random.default_rng(5)
    extra = [record(SW + f"{1 + k % 4:03d}{k + 10:04d}",
                    shapely.Point(*xy(*(np.array([(0, 0), (1, 0), (0, 1), (1, 1)][k % 4]) + rng.uniform(0, 1, 2)))))
             for k in range(60)]
    loc = Locator(district_records() + extra)
    lons, lats = random_points(4000, seed=12)
    lons = np.r_[lons, rng.uniform(*sorted((xy(0, 0)[0], xy(2, 0)[0])), 3000)]
    lats = np.r_[lats, rng.uniform(*sorted((xy(0, 0)[1], xy(0, 2)[1])), 3000)]
    assert loc.locate_many(lons, lats) == [loc.locate(a, b) for a, b in zip(lons.tolist(), lats.tolist())]


def test_locate_many_takes_gcj02_too(locator):
    lons, lats = random_points(500, seed=13)
    lons, lats = lons[:500], lats[:500]  # not the points exactly on edges: a round trip may move them 1e-14
    mars_lon, mars_lat = geo.wgs84_to_gcj02(lons, lats)
    assert locator.locate_many(mars_lon, mars_lat, datum="gcj02") == locator.locate_many(lons, lats)


def test_locate_many_refuses_bad_coordinates_and_takes_empty_batches(locator):
    with pytest.raises(ValueError, match="first at positions \\[1\\]"):
        locator.locate_many([112.8, 500.0], [35.4, 35.4])
    assert locator.locate_many([], []) == []


def test_an_empty_locator_finds_nothing():
    empty = Locator([])
    assert empty.locate(*xy(1, 1)) == OUTSIDE
    assert empty.locate_many([xy(1, 1)[0]], [xy(1, 1)[1]]) == [OUTSIDE]


def test_records_with_geometry_as_text_or_under_boundary_are_read():
    records = [{**{k: v for k, v in r.items() if k != "geometry"}, "boundary": shapely.to_geojson(
        shapely.geometry.shape(r["geometry"]))} for r in district_records()]
    assert Locator(records).locate(*xy(1.5, 3.5)).code == NW + "004"


def test_a_geometry_a_level_cannot_have_is_refused():
    with pytest.raises(ValueError, match="Point cannot bound a level-4"):
        Locator([record(SW + "001", shapely.Point(*xy(0.5, 0.5)))])


def test_from_features_reads_geojson_features():
    features = [{"type": "Feature", "geometry": r.pop("geometry"), "properties": r} for r in district_records()]
    assert Locator.from_features(features).locate(*xy(0.3, 0.3)).code == COMPOUND
