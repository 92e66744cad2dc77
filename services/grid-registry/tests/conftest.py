"""Fixtures of the grid-registry tests: an app on a fresh database and a tiny hand-made district.

The tiny district (codes from levels.child_code) is a 0.1° square cut in halves,
quarters and eighths, so every expected answer can be worked out by hand:

    level 1  140502              x 112.80-112.90, y 35.40-35.50
    level 2  140502001 west      x 112.80-112.85     140502002 east  x 112.85-112.90
    level 3  …001001 south/…001002 north of each level-2 half (split at y 35.45)
    level 4  each level 3 cut at its middle x into …001 (west) and …002 (east)
    level 5  in 140502001001001: a point (enterprise) and a small square (compound)
"""
import pytest

from servicekit.config import load_settings
from servicekit.migrate import upgrade
from servicekit.testing import signed_as


def box(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def feature(code, name, level, parent, kind, geometry, **extra):
    return {"type": "Feature", "geometry": geometry, "properties": {
        "code": code, "name": name, "level": level, "parent_code": parent, "kind": kind,
        "four_sides": {"east": "东至测试路", "south": "南至测试街", "west": "西至测试巷", "north": "北至测试河"},
        **extra}}


def tiny_district() -> dict:
    features = [feature("140502", "测试区", 1, None, "district", box(112.80, 35.40, 112.90, 35.50))]
    for i, (x0, x1, name) in enumerate([(112.80, 112.85, "西城街道"), (112.85, 112.90, "东城街道")], start=1):
        l2 = f"140502{i:03d}"
        features.append(feature(l2, name, 2, "140502", "subdistrict", box(x0, 35.40, x1, 35.50)))
        for j, (y0, y1, tag) in enumerate([(35.40, 35.45, "南"), (35.45, 35.50, "北")], start=1):
            l3 = f"{l2}{j:03d}"
            features.append(feature(l3, f"{name[:2]}{tag}社区", 3, l2, "community", box(x0, y0, x1, y1)))
            mid = round((x0 + x1) / 2, 6)
            for k, (a, b) in enumerate([(x0, mid), (mid, x1)], start=1):
                features.append(feature(f"{l3}{k:03d}", f"{name[:2]}{tag}社区第{k}网格", 4, l3, "area",
                                        box(a, y0, b, y1)))
    features.append(feature("1405020010010010001", "宏达餐饮有限公司", 5, "140502001001001", "enterprise",
                            {"type": "Point", "coordinates": [112.81, 35.41]}))
    features.append(feature("1405020010010010002", "凤台小区", 5, "140502001001001", "residential_compound",
                            box(112.812, 35.42, 112.815, 35.423)))
    return {"type": "FeatureCollection", "features": features}





@pytest.fixture
def registry_settings(tmp_path):
    from grid_registry.bootstrap import SPEC
    settings = load_settings("grid-registry", {"ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(SPEC, settings)
    return settings


@pytest.fixture
def client(registry_settings):
    from grid_registry.app import create_app
    return create_app(registry_settings).test_client()


@pytest.fixture
def district(client):
    """The tiny district imported through the API."""
    response = client.post("/api/v1/registry/imports/grids", json=tiny_district(),
                           headers=signed_as("district_ops", subject="ops-1"))
    assert response.status_code == 201, response.get_json()
    return tiny_district()


@pytest.fixture
def ops():
    return signed_as("district_ops", subject="ops-1")


@pytest.fixture
def anyone():
    return signed_as("public", subject="anonymous")


@pytest.fixture
def tiny():
    """A fresh copy of the tiny district's FeatureCollection, to break in a test."""
    return tiny_district()
