"""The generated demonstration district: full size, deterministic, and geometrically exact."""
from collections import Counter, defaultdict
from itertools import combinations

import pytest
import shapely
from shapely.geometry import shape

from grid_registry import levels
from grid_registry.demo import generate
from grid_registry.demo.names import LEVEL2

SEED = 2018


@pytest.fixture(scope="module")
def demo():
    return generate(SEED)


@pytest.fixture(scope="module")
def units(demo):
    return {f["properties"]["code"]: f["properties"] for f in demo.features}


@pytest.fixture(scope="module")
def shapes(demo):
    return {f["properties"]["code"]: shape(f["geometry"]) for f in demo.features}


@pytest.fixture(scope="module")
def children(units):
    found = defaultdict(list)
    for code, unit in units.items():
        if unit["parent_code"]:
            found[unit["parent_code"]].append(code)
    return found


def at_level(units, level):
    return [code for code, unit in units.items() if unit["level"] == level]


def test_has_the_district_s_full_size(units):
    counts = Counter(unit["level"] for unit in units.values())
    assert (counts[1], counts[2], counts[3], counts[4]) == (1, 8, 146, 780)
    assert counts[5] >= 3000


def test_level_2_is_the_plan_s_eight_units_in_order(units):
    level2 = sorted(at_level(units, 2))
    assert [units[c]["name"] for c in level2] == [name for name, _, _ in LEVEL2]
    assert [units[c]["kind"] for c in level2] == ["subdistrict"] * 7 + ["town"]
    assert level2 == [levels.child_code(levels.DISTRICT_CODE, i) for i in range(1, 9)]


def test_the_same_seed_gives_the_same_district_and_another_seed_another(demo):
    again = generate(SEED)
    assert again.features == demo.features and again.people == demo.people
    other = generate(SEED + 1)
    assert other.features != demo.features


def test_codes_are_unique_and_hierarchical(demo, units):
    assert len(units) == len(demo.features)
    for code, unit in units.items():
        assert levels.level_of_code(code) == unit["level"]
        assert unit["parent_code"] == levels.parent_code(code)
        assert unit["kind"] in levels.KINDS[unit["level"]]


def test_every_unit_has_a_name_and_four_sides(units):
    for unit in units.values():
        assert unit["name"]
        sides = unit["four_sides"]
        assert list(sides) == ["east", "south", "west", "north"]
        assert [text[:2] for text in sides.values()] == ["东至", "南至", "西至", "北至"]
    level3 = [u["name"] for u in units.values() if u["level"] == 3]
    assert len(set(level3)) == len(level3)


def test_geometries_have_the_types_their_level_allows(demo, shapes):
    for feature in demo.features:
        level = feature["properties"]["level"]
        assert feature["geometry"]["type"] in levels.GEOMETRY_TYPES[level]
        if level <= 4:
            assert shapes[feature["properties"]["code"]].is_valid
    level5 = Counter(f["geometry"]["type"] for f in demo.features if f["properties"]["level"] == 5)
    assert level5["Point"] > 0 and level5["Polygon"] > 0


def test_coordinates_have_at_most_seven_decimals(demo):
    for feature in demo.features[:200]:
        for x, y in shapely.get_coordinates(shape(feature["geometry"])):
            assert round(x, 7) == x and round(y, 7) == y


def test_children_partition_their_parent_exactly(units, shapes, children):
    for code, unit in units.items():
        if unit["level"] > 3:
            continue
        parts = [shapes[c] for c in children[code]]
        assert shapely.union_all(parts).symmetric_difference(shapes[code]).area < 1e-12, unit["name"]
        tree = shapely.STRtree(parts)
        for i, j in zip(*tree.query(parts, predicate="intersects").tolist()):
            if i < j:
                assert shapely.intersection(parts[i], parts[j]).area == 0, (unit["name"], i, j)


def test_grid_points_lie_strictly_inside_their_grid_and_apart(units, shapes, children):
    for code in at_level(units, 4):
        grid = shapes[code]
        points = [shapes[c] for c in children[code]]
        assert all(grid.contains_properly(p) for p in points), units[code]["name"]
        for a, b in combinations(points, 2):
            if a.geom_type == "Polygon" or b.geom_type == "Polygon":
                assert not a.intersects(b), units[code]["name"]


def test_every_grid_has_a_leader_and_every_role_fits_its_level(demo, units):
    led = set()
    for row in demo.people:
        level = units[row["grid_code"]]["level"]
        assert levels.role_allowed(row["role"], level), row
        if levels.ROLES[row["role"]].leads:
            led.add(row["grid_code"])
    assert led == set(units)


def test_each_level_3_grid_has_its_first_leader_leaders_and_deputies(demo, units):
    roles = defaultdict(Counter)
    for row in demo.people:
        roles[row["grid_code"]][row["role"]] += 1
    for code in at_level(units, 3):
        assert roles[code]["first_leader"] == 1
        assert 1 <= roles[code]["leader"] <= 3 and 1 <= roles[code]["deputy_leader"] <= 3
    assert roles[levels.DISTRICT_CODE]["chief"] == 2


def test_people_have_valid_unique_phones_and_one_identity(demo):
    person = {}
    for row in demo.people:
        identity = (row["name"], row["phone"], row["title"])
        assert person.setdefault(row["person_id"], identity) == identity
        assert levels.valid_phone(row["phone"])
    phones = [phone for _, phone, _ in person.values()]
    assert len(set(phones)) == len(phones)


def test_some_people_hold_roles_in_several_grids(demo, units):
    grids_of = defaultdict(set)
    for row in demo.people:
        grids_of[row["person_id"]].add(row["grid_code"])
    several = [p for p, grids in grids_of.items() if len(grids) >= 2]
    assert several
    # A town deputy is also first grid leader of a village; a village deputy leads level-4 grids.
    levels_of = {p: {units[g]["level"] for g in grids_of[p]} for p in several}
    assert any(held >= {2, 3} for held in levels_of.values())
    assert any(held >= {3, 4} for held in levels_of.values())
