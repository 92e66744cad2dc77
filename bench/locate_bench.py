#!/usr/bin/env python
"""Point-in-grid lookup: `Locator.locate` / `locate_many` against bare shapely, in process; and over HTTP.

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

Over HTTP (on by default; `--http` runs only this part, `--no-http` skips it): the
registry's web process as production starts it, on a throwaway database holding the
demo district (`envgrid-grid-registry migrate` + `load-demo`; a fresh SQLite data
directory in a tempdir, or with --database-url a throwaway database created on that
PostgreSQL server and dropped afterwards), then
`gunicorn -c gunicorn.conf.py --bind 127.0.0.1:<free port> --workers 2` in
services/grid-registry (the kit's gthread settings: keep-alive, 4 threads, INFO access
log on stderr, here into a file). One client, one keep-alive connection
(http.client), sequential requests with a gateway-signed identity (role public,
re-signed every 1,000 requests, outside the timing):
- GET /api/v1/registry/locate?lon=..&lat=.. at --http-requests random points in the
  district's bounding box (fixed seed) after --http-warmup warm-up requests, taking
  turns with GET /healthz on the same connection: the same app factory, identity check
  and metrics, but no schema, no database, no locator, no access-log line. p50/p95/p99
  of both, and the difference (= what the locate route itself costs).
- POST /api/v1/registry/locate with --http-batch points per request: ms per request,
  µs per point.
- the app's own duration of the timed GET locate requests, from its access-log lines
  (before_request to after_request: without gunicorn, WSGI and the loopback).
--seed, when given, goes to `load-demo --seed`. gunicorn is stopped and the database
and tempdir removed at the end, on Ctrl-C and on SIGTERM too. Set-up (migrate,
load-demo, start) takes about 7 s, the whole HTTP part about 20 s.

Prints figures only; it asserts nothing about timing.
"""
from __future__ import annotations

import argparse
import http.client
import importlib
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import shapely

from benchlib import free_port, stop_groups, wait_answering

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICE_DIR = REPO_ROOT / "services" / "grid-registry"
sys.path.insert(0, str(SERVICE_DIR))

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
    part = parser.add_mutually_exclusive_group()
    part.add_argument("--http", action="store_true", help="run only the HTTP part (without it: both parts)")
    part.add_argument("--no-http", action="store_true", help="run only the in-process part")
    parser.add_argument("--database-url", default=None,
                        help="HTTP part: a PostgreSQL server URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres) "
                             "on which a throwaway database is created and dropped; default: SQLite in a tempdir")
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL") or "amqp://guest:guest@127.0.0.1:5672/%2F",
                        help="HTTP part: AMQP_URL for the web process (locate does not use the broker)")
    parser.add_argument("--http-requests", type=int, default=5_000,
                        help="timed GET locate requests (and as many /healthz)")
    parser.add_argument("--http-warmup", type=int, default=200, help="untimed requests of each kind first")
    parser.add_argument("--http-batch", type=int, default=1_000, help="points per POST locate (0: skip the batch)")
    parser.add_argument("--http-batch-requests", type=int, default=50, help="timed POST locate requests")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn --workers")
    parser.add_argument("--keep", action="store_true", help="keep the tempdir (gunicorn log) and print where it is")
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


def in_process(args) -> None:
    source, features = load_features(args)
    by_level = {level: sum(1 for f in features if f["properties"]["level"] == level) for level in range(1, 6)}
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



# --- over HTTP --------------------------------------------------------------------------

VENV_BIN = Path(sys.executable).parent
LOCATE_PATH = "/api/v1/registry/locate"


def _tool(name: str) -> str:
    """A console script of the repository's venv (beside this Python), else from PATH."""
    path = VENV_BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name) or shutil.which(name, path=str(REPO_ROOT / ".venv" / "bin"))
    if not found:
        raise SystemExit(f"{name} not found: run the bench with the repository's .venv/bin/python")
    return found


def _sign() -> dict[str, str]:
    from servicekit.config import DEV_IDENTITY_SECRET
    from servicekit.identity import Identity, sign
    return sign(Identity("bench", frozenset({"public"})), DEV_IDENTITY_SECRET)


class WebProcess:
    """A throwaway database with the demo district and the registry's gunicorn on it.

    `start()` sets everything up, `stop()` tears down whatever was set up (idempotent)."""

    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="envgrid-locate-bench-"))
        self.log_path = self.tmp / "gunicorn.log"
        self.admin_engine = None
        self.database = None
        self.proc: subprocess.Popen | None = None
        self.log = None
        self.log_lines: list[str] = []
        self.port = free_port()
        self.env = self._environment()

    def _environment(self) -> dict[str, str]:
        # This shell's WEB_THREADS, WEB_KEEPALIVE, LOG_LEVEL... pass through (printed when set);
        # whatever would point the process at another database or secret does not.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GRID_REGISTRY_", "PROMETHEUS_MULTIPROC_DIR"))
               and k not in ("DATABASE_URL", "ENVGRID_ENV", "IDENTITY_SECRET", "BIND")}
        from servicekit.config import DEV_IDENTITY_SECRET
        env.update(ENVGRID_DATA_DIR=str(self.tmp / "data"), AMQP_URL=self.args.amqp_url,
                   IDENTITY_SECRET=DEV_IDENTITY_SECRET, PYTHONUNBUFFERED="1")
        return env

    def describe_database(self) -> str:
        if self.database is None:
            return f"SQLite, fresh data dir {self.tmp / 'data'}"
        from sqlalchemy.engine import make_url
        url = make_url(self.args.database_url)
        return f"PostgreSQL {url.host}:{url.port or 5432}, throwaway database {self.database}"

    def _create_database(self) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        from servicekit.db import normalise_url
        admin = make_url(normalise_url(self.args.database_url))
        self.admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        name = f"eg_locate_bench_{uuid.uuid4().hex[:10]}"
        with self.admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
        self.database = name
        self.env["DATABASE_URL"] = admin.set(database=name).render_as_string(hide_password=False)

    def _cli(self, *argv: str) -> float:
        t0 = time.perf_counter()
        done = subprocess.run([_tool("envgrid-grid-registry"), *argv], env=self.env, cwd=SERVICE_DIR,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"envgrid-grid-registry {' '.join(argv)} failed ({done.returncode}):\n"
                             f"{done.stdout}{done.stderr}")
        return time.perf_counter() - t0

    def start(self) -> dict[str, float]:
        timings = {}
        if self.args.database_url:
            self._create_database()
        timings["migrate"] = self._cli("migrate")
        seed = [] if self.args.seed is None else ["--seed", str(self.args.seed)]  # the demo's, never --synthetic
        timings["load-demo"] = self._cli("load-demo", *seed)
        self.log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        # A session of its own: a Ctrl-C in the terminal reaches only this script, whose
        # `finally` stops gunicorn gracefully (and kills the group if that hangs).
        self.proc = subprocess.Popen(
            [_tool("gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.args.web_workers)],
            cwd=SERVICE_DIR, env=self.env | {"PROMETHEUS_MULTIPROC_DIR": str(self.tmp / "metrics")},
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_answering(f"http://127.0.0.1:{self.port}/healthz", self.proc, self.log_tail)
        timings["gunicorn up"] = time.perf_counter() - t0
        return timings

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        stop_groups([self.proc], 25, leader_only=True)  # gunicorn's master stops its workers gracefully
        self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None
            self.log_lines = self.log_path.read_text(errors="replace").splitlines()
        if self.database is not None:
            from sqlalchemy import text
            with self.admin_engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            self.database = None
        if self.admin_engine is not None:
            self.admin_engine.dispose()
            self.admin_engine = None
        if self.args.keep:
            print(f"kept {self.tmp} (gunicorn log: {self.log_path})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Client:
    """One keep-alive connection; every request carries a signed identity, re-signed every 1,000."""

    RESIGN_EVERY = 1_000

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.sent = 0
        self.headers = _sign()

    def request(self, method: str, path: str, body: bytes | None = None,
                content_type: str | None = None) -> tuple[float, int, bytes]:
        """(ms, status, body) of one request; the clock covers send to the last byte read."""
        if self.sent % self.RESIGN_EVERY == 0:
            self.headers = _sign()
        self.sent += 1
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        t0 = time.perf_counter_ns()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter_ns() - t0) / 1e6
        if response.getheader("Connection", "").lower() == "close":
            raise SystemExit(f"the server closed the keep-alive connection after {method} {path}")
        return elapsed, response.status, data

    def get_json(self, path: str) -> dict:
        _ms, status, data = self.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {data[:500]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def _summary(values: list[float]) -> tuple[float, float, float, float]:
    ordered = sorted(values)
    return (percentile(ordered, 0.5), percentile(ordered, 0.95), percentile(ordered, 0.99),
            statistics.fmean(ordered))


def over_http(args) -> None:
    def on_sigterm(_signum, _frame):
        raise KeyboardInterrupt  # the same clean-up as Ctrl-C

    web = WebProcess(args)
    previous_term = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        print("\nover HTTP: the grid-registry web process (gunicorn) on the demo district")
        timings = web.start()
        print(f"  database: {web.describe_database()}")
        print("  set-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        overrides = " ".join(f"{k}={os.environ[k]}" for k in ("WEB_THREADS", "WEB_KEEPALIVE", "WEB_TIMEOUT",
                                                              "LOG_LEVEL") if os.environ.get(k))
        print(f"  gunicorn -c gunicorn.conf.py --bind 127.0.0.1:{web.port} --workers {args.web_workers} "
              f"(the kit's gthread settings{'; ' + overrides if overrides else ''}); one client, "
              f"one keep-alive connection, sequential")
        client = Client(web.port)
        try:
            _http_measure(args, client)
        finally:
            client.close()
        web.stop()  # flushes the access log
        _server_side(args, web)
        print(f"  load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        try:
            web.stop()
        finally:
            signal.signal(signal.SIGTERM, previous_term)


def _http_measure(args, client: Client) -> None:
    district = client.get_json(f"/api/v1/registry/grids/{levels.DISTRICT_CODE}?boundary=1")
    minx, miny, maxx, maxy = shapely.geometry.shape(district["boundary"]).bounds
    rng = np.random.default_rng(2026)
    n = args.http_warmup + args.http_requests
    lons = rng.uniform(minx, maxx, n).round(6).tolist()
    lats = rng.uniform(miny, maxy, n).round(6).tolist()
    paths = [f"{LOCATE_PATH}?{urlencode({'lon': lon, 'lat': lat})}" for lon, lat in zip(lons, lats)]

    locate_ms, health_ms, inside = [], [], 0
    for i, path in enumerate(paths):
        # Taking turns on the same connection (so the same gunicorn worker), so a noisy
        # neighbour on the machine hits both alike.
        ms_l, status, data = client.request("GET", path)
        if status != 200:
            raise SystemExit(f"GET {path}: {status} {data[:500]!r}")
        ms_h, status, hdata = client.request("GET", "/healthz")
        if status != 200:
            raise SystemExit(f"GET /healthz: {status} {hdata[:500]!r}")
        if i >= args.http_warmup:
            locate_ms.append(ms_l)
            health_ms.append(ms_h)
            inside += json.loads(data)["inside"]

    print(f"  GET locate at {args.http_requests} random points in the bounding box "
          f"({minx:.3f}..{maxx:.3f} E, {miny:.3f}..{maxy:.3f} N; seed 2026), after {args.http_warmup} "
          f"warm-up; {inside} inside ({100 * inside / args.http_requests:.1f} %), taking turns with /healthz")
    loc, hz = _summary(locate_ms), _summary(health_ms)
    print(f"  {'':34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for name, row in (("GET /api/v1/registry/locate", loc), ("GET /healthz (baseline)", hz),
                      ("difference (locate - healthz)", tuple(a - b for a, b in zip(loc, hz)))):
        print(f"  {name:34} " + " ".join(f"{v:8.3f}" for v in row))
    verdict = "under" if loc[0] < 2.0 else "OVER"
    print(f"  target: locate p50 under 2 ms over HTTP -> p50 {loc[0]:.3f} ms, {verdict}")

    if args.http_batch > 0:
        batch_ms = []
        for r in range(5 + args.http_batch_requests):
            bl = rng.uniform(minx, maxx, args.http_batch).round(6)
            bb = rng.uniform(miny, maxy, args.http_batch).round(6)
            body = json.dumps({"points": [{"lon": float(x), "lat": float(y)} for x, y in zip(bl, bb)]}).encode()
            ms, status, data = client.request("POST", LOCATE_PATH, body=body, content_type="application/json")
            if status != 200:
                raise SystemExit(f"POST {LOCATE_PATH}: {status} {data[:500]!r}")
            if r >= 5:
                batch_ms.append(ms)
        p50, p95, p99, mean = _summary(batch_ms)
        print(f"  POST locate, {args.http_batch} points per request, {args.http_batch_requests} requests after 5 "
              f"warm-up: p50 {p50:.1f} ms, p95 {p95:.1f} ms, mean {mean:.1f} ms per request; "
              f"p50 {p50 / args.http_batch * 1000:.1f} µs per point")


def _server_side(args, web: WebProcess) -> None:
    """The app's own view of the timed GET locate requests: `duration_ms` of its access log
    line (before_request to after_request, so without gunicorn, WSGI plumbing and the network)."""
    durations = []
    for line in web.log_lines:
        if line.startswith("{") and '"envgrid.access"' in line:
            entry = json.loads(line)
            if entry.get("method") == "GET" and entry.get("route") == LOCATE_PATH:
                durations.append(entry["duration_ms"])
    durations = durations[args.http_warmup:]
    if len(durations) != args.http_requests:
        print(f"  (server side: {len(durations)} access-log lines for GET locate, expected {args.http_requests})")
    if durations:
        p50, p95, p99, mean = _summary(durations)
        print(f"  GET locate inside the app (access log duration_ms): p50 {p50:.3f}, p95 {p95:.3f}, "
              f"p99 {p99:.3f}, mean {mean:.3f} ms")


def main(argv=None) -> None:
    args = parse_args(argv)
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"host: {platform.node()}  python {platform.python_version()}  shapely {shapely.__version__} "
          f"(GEOS {'.'.join(map(str, shapely.geos_version))})  numpy {np.__version__}")
    print(f"nproc: {affinity} (os.cpu_count {os.cpu_count()}); load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    try:
        if not args.http:
            in_process(args)
        if not args.no_http:
            over_http(args)
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up", file=sys.stderr)
        raise SystemExit(130)


if __name__ == "__main__":
    main()
