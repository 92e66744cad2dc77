#!/usr/bin/env python
"""Point-in-grid lookup: `Locator.locate` / `locate_many` against bare shapely, in process.

Data: the demo district (`grid_registry.demo.generate(seed).features`) when that module
is there, else - or with --synthetic - a synthetic nested grid of the same size built
here by recursive Voronoi splitting: 1 district, 8 towns, 146 villages, 780 grids and
about 5,000 level-5 units (half points, half small polygons) around Jincheng.

Figures, all in one run on the same points:
- single point: `Locator.locate(lon, lat)` p50/p99 over --points random points in the
  district's bounding box (some fall outside it), beside the bare shapely query on the
  level-4 polygons alone, `STRtree.query(shapely.points((lon, lat)), predicate="intersects")`.
  Both build their point from two floats, so both pay for that.
- batch: `Locator.locate_many(lons, lats)` on --batch points, beside
  `STRtree.query(shapely.points(lons, lats), predicate="intersects")` on the same level-4 tree.
- the ratio locator / bare shapely (the target is within 2x). The Locator does more: all
  five levels, the level-5 radius, the chain, the tie-break and the outside test.
- for scale: building the Locator, and validating the whole district as one import.

Prints figures only; it asserts nothing about timing.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "services" / "grid-registry"))

from grid_registry import levels  # noqa: E402
from grid_registry.locate import Locator  # noqa: E402
from grid_registry.validation import validate_import  # noqa: E402

CENTRE = (112.85, 35.50)  # Jincheng, 晋城市城区
COUNTS = {2: 8, 3: 146, 4: 780}
LEVEL5_PER_GRID = 6.4


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic grid even if the demo exists")
    parser.add_argument("--seed", type=int, default=None,
                        help="data seed (default: the demo's own default; 1 for the synthetic grid)")
    parser.add_argument("--points", type=int, default=10_000, help="single-point queries")
    parser.add_argument("--batch", type=int, default=100_000, help="points in the locate_many batch")
    parser.add_argument("--skip-validation", action="store_true", help="do not time validate_import")
    return parser.parse_args(argv)


# --- data -----------------------------------------------------------------------------

def _split_counts(total: int, parts: int, rng) -> list[int]:
    """`total` split into `parts` positive integers, roughly even."""
    weights = rng.uniform(0.6, 1.4, parts)
    counts = np.maximum(1, np.floor(weights / weights.sum() * total)).astype(int)
    while counts.sum() < total:
        counts[rng.integers(parts)] += 1
    while counts.sum() > total:
        i = int(np.argmax(counts))
        counts[i] -= 1
    return counts.tolist()


def _random_points_in(geometry, n: int, rng) -> np.ndarray:
    minx, miny, maxx, maxy = geometry.bounds
    shapely.prepare(geometry)
    found = []
    while len(found) < n:
        xs = rng.uniform(minx, maxx, 4 * n)
        ys = rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(geometry, xs, ys)
        found.extend(zip(xs[inside], ys[inside]))
    return np.array(found[:n])


def _polygonal(geometry):
    """The polygonal part of a clipping result, as a Polygon or MultiPolygon."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type == "Polygon" and not g.is_empty]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _voronoi_split(parent, n: int, rng) -> list:
    seeds = _random_points_in(parent, n, rng)
    if n == 1:
        return [parent]
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=parent, ordered=True)
    return [_polygonal(shapely.intersection(cell, parent)) for cell in shapely.get_parts(cells)]


def _feature(code: str, level: int, geometry, name: str, kind: str) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geometry),
            "properties": {"code": code, "name": name, "level": level, "parent_code": levels.parent_code(code),
                           "kind": kind, "four_sides": {"east": "", "south": "", "west": "", "north": ""}}}


def synthetic_features(seed: int = 1) -> list[dict]:
    """A nested grid of the district's size around Jincheng, as GeoJSON Features."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 2.0 * math.pi, 400, endpoint=False)
    r = 1.0 + 0.08 * np.sin(3 * t + rng.uniform(0, 6)) + 0.05 * np.sin(7 * t + rng.uniform(0, 6)) \
        + 0.015 * np.sin(23 * t)
    district = shapely.Polygon(np.column_stack([CENTRE[0] + 0.15 * r * np.cos(t), CENTRE[1] + 0.12 * r * np.sin(t)]))
    features = [_feature(levels.DISTRICT_CODE, 1, district, "城区", "district")]
    units = [(levels.DISTRICT_CODE, district)]
    for level, kind in ((2, "subdistrict"), (3, "community"), (4, "area")):
        counts = _split_counts(COUNTS[level], len(units), rng)
        children = []
        for (code, geometry), n in zip(units, counts):
            for i, cell in enumerate(_voronoi_split(geometry, n, rng), start=1):
                child = levels.child_code(code, i)
                children.append((child, cell))
                features.append(_feature(child, level, cell, f"{levels.LEVEL_NAMES[level]}{child[-3:]}", kind))
        units = children
    kinds = sorted(levels.KINDS[5])
    for code, grid in units:
        n = rng.poisson(LEVEL5_PER_GRID)
        placed = []
        for i, (x, y) in enumerate(_random_points_in(grid, n, rng), start=1):
            child = levels.child_code(code, i)
            kind = kinds[rng.integers(len(kinds))]
            if i % 2:
                geometry = shapely.Point(x, y)
            else:
                half = rng.uniform(20.0, 60.0)
                box = shapely.box(x - half / 90_700, y - half / 110_950, x + half / 90_700, y + half / 110_950)
                geometry = shapely.intersection(box, grid)
                if geometry.geom_type != "Polygon" or any(geometry.intersects(p) for p in placed):
                    geometry = shapely.Point(x, y)
                else:
                    placed.append(geometry)
            features.append(_feature(child, 5, geometry, f"网格点{child[-4:]}", kind))
    return features


def _demo_exists() -> bool:
    try:
        return importlib.util.find_spec("grid_registry.demo.generate") is not None
    except ModuleNotFoundError:  # no grid_registry.demo package at all
        return False


def load_features(args) -> tuple[str, list[dict]]:
    if not args.synthetic and _demo_exists():
        generate = importlib.import_module("grid_registry.demo.generate").generate  # the demo district
        demo = generate() if args.seed is None else generate(args.seed)
        return "demo district (grid_registry.demo.generate)", list(demo.features)
    return "synthetic recursive-Voronoi grid", synthetic_features(1 if args.seed is None else args.seed)


# --- measurement ----------------------------------------------------------------------

def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def time_single(fns, lons, lats) -> list[list[float]]:
    """µs per call of each function, one timing per point and function. The functions take
    turns on each point, so a noisy neighbour on the machine hits all of them alike."""
    clock = time.perf_counter_ns
    for lon, lat in zip(lons[:1000], lats[:1000]):  # warm-up
        for fn in fns:
            fn(lon, lat)
    out = [[] for _ in fns]
    for lon, lat in zip(lons, lats):
        for fn, times in zip(fns, out):
            t0 = clock()
            fn(lon, lat)
            times.append((clock() - t0) / 1000.0)
    for times in out:
        times.sort()
    return out


def time_batches(fns, rounds: int = 5) -> list[float]:
    """Best wall time of each function over `rounds` rounds, taking turns within each round."""
    best = [math.inf] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def main(argv=None) -> None:
    args = parse_args(argv)
    source, features = load_features(args)
    by_level = {level: sum(1 for f in features if f["properties"]["level"] == level) for level in range(1, 6)}
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"host: {platform.node()}  python {platform.python_version()}  shapely {shapely.__version__} "
          f"(GEOS {'.'.join(map(str, shapely.geos_version))})  numpy {np.__version__}")
    print(f"nproc: {affinity} (os.cpu_count {os.cpu_count()}); single-threaded measurements")
    seed = "default" if args.seed is None else args.seed
    print(f"data: {source}, seed {seed}: " + ", ".join(f"L{k}={v}" for k, v in by_level.items()))

    t0 = time.perf_counter()
    locator = Locator.from_features(features)
    print(f"Locator build: {time.perf_counter() - t0:.3f} s for {len(locator)} units")

    if not args.skip_validation:
        collection = {"type": "FeatureCollection", "features": features}
        t0 = time.perf_counter()
        problems = validate_import(collection)
        elapsed = time.perf_counter() - t0
        kinds = sorted({p["problem"] for p in problems})
        print(f"validate_import (whole district): {elapsed:.3f} s, {len(problems)} problems {kinds}")

    level4 = np.array([shapely.geometry.shape(f["geometry"]) for f in features if f["properties"]["level"] == 4])
    bare = shapely.STRtree(level4)
    minx, miny, maxx, maxy = shapely.total_bounds(
        np.array([shapely.geometry.shape(f["geometry"]) for f in features if f["properties"]["level"] == 1]))
    rng = np.random.default_rng(1000 + (args.seed or 0))
    lons = rng.uniform(minx, maxx, args.points).tolist()
    lats = rng.uniform(miny, maxy, args.points).tolist()

    print(f"\nsingle point, {args.points} random points in the district's bounding box "
          f"({minx:.3f}..{maxx:.3f} E, {miny:.3f}..{maxy:.3f} N)")
    inside = sum(locator.locate(lon, lat).inside for lon, lat in zip(lons, lats))
    print(f"  inside the district: {inside} ({100 * inside / args.points:.1f} %)")
    ours, gcj, base = time_single([
        locator.locate,
        lambda lon, lat: locator.locate(lon, lat, datum="gcj02"),
        lambda lon, lat: bare.query(shapely.points((lon, lat)), predicate="intersects"),
    ], lons, lats)
    print(f"  {'':34} {'p50 µs':>8} {'p99 µs':>8} {'mean µs':>8}")
    for name, values in (("Locator.locate (wgs84)", ours), ("Locator.locate (gcj02)", gcj),
                         ("bare STRtree.query, level 4", base)):
        print(f"  {name:34} {percentile(values, 0.5):8.1f} {percentile(values, 0.99):8.1f} "
              f"{statistics.fmean(values):8.1f}")
    print(f"  ratio locate/bare: p50 {percentile(ours, 0.5) / percentile(base, 0.5):.2f}x, "
          f"p99 {percentile(ours, 0.99) / percentile(base, 0.99):.2f}x")

    blons = rng.uniform(minx, maxx, args.batch)
    blats = rng.uniform(miny, maxy, args.batch)
    ours_b, gcj_b, base_b = time_batches([
        lambda: locator.locate_many(blons, blats),
        lambda: locator.locate_many(blons, blats, datum="gcj02"),
        lambda: bare.query(shapely.points(blons, blats), predicate="intersects"),
    ])
    print(f"\nbatch of {args.batch} points (best of 5 rounds, taking turns)")
    for name, seconds in (("Locator.locate_many (wgs84)", ours_b), ("Locator.locate_many (gcj02)", gcj_b),
                          ("bare STRtree.query, level 4", base_b)):
        print(f"  {name:34} {seconds:8.3f} s  {seconds / args.batch * 1e6:6.2f} µs/point")
    print(f"  ratio locate_many/bare: {ours_b / base_b:.2f}x")


if __name__ == "__main__":
    main()
