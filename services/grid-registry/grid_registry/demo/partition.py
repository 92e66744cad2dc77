"""Exact partitions of a polygon into Voronoi cells, and contiguous groups of those cells.

Geometry is computed on an integer grid (one unit = 1e-7 degree, see `Frame`), so
that neighbouring cells share identical vertices: the Voronoi edges and the outer
boundary are noded together with snap rounding and polygonised once. Groups of
cells (villages, towns) are unions of cells that share exact edges, hence the
children of every unit partition it exactly, with no gap and no overlap.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import MultiPoint, Polygon


class PartitionError(Exception):
    """The random layout could not be partitioned as asked; try another draw."""


@dataclass(frozen=True)
class Frame:
    """Grid units (integers, 1e-7 degree) about a centre, and metres for sizes and distances."""
    lon: float
    lat: float

    @property
    def origin(self) -> tuple[int, int]:
        return round(self.lon * 1e7), round(self.lat * 1e7)

    @property
    def metres_per_unit(self) -> tuple[float, float]:
        return 111_320 * math.cos(math.radians(self.lat)) / 1e7, 110_950 / 1e7

    def to_units(self, geom_m):
        """Metres from the centre → grid units (not rounded)."""
        mx, my = self.metres_per_unit
        return shapely.transform(geom_m, lambda c: c / [mx, my])

    def to_metres(self, geom_u):
        mx, my = self.metres_per_unit
        return shapely.transform(geom_u, lambda c: c * [mx, my])

    def xy_metres(self, x_u: float, y_u: float) -> tuple[float, float]:
        mx, my = self.metres_per_unit
        return x_u * mx, y_u * my

    def degrees(self, x_u: float, y_u: float) -> list[float]:
        """Grid units → [lon, lat], exactly the 7-decimal value of the grid point."""
        ox, oy = self.origin
        return [(int(x_u) + ox) / 1e7, (int(y_u) + oy) / 1e7]


def star_polygon(rng: random.Random, rx: float, ry: float, vertices: int = 72) -> Polygon:
    """An irregular, star-shaped outline about (0, 0) with half-axes of about rx and ry."""
    waves = [(k, rng.uniform(0.03, 0.09) / math.sqrt(k - 1), rng.uniform(0, 2 * math.pi)) for k in range(2, 8)]
    points = []
    for i in range(vertices):
        t = 2 * math.pi * i / vertices
        r = 1 + sum(a * math.cos(k * t + phase) for k, a, phase in waves) + rng.uniform(-0.015, 0.015)
        points.append((rx * r * math.cos(t), ry * r * math.sin(t)))
    return Polygon(points)


def scatter(rng: random.Random, region: Polygon, count: int) -> list[tuple[float, float]]:
    """`count` points inside `region`, spread out (no two closer than a spacing that fits them)."""
    spacing = 0.75 * math.sqrt(region.area / count)
    inner = region.buffer(-spacing / 2)
    if inner.is_empty or inner.area < region.area / 4:
        inner = region
    shapely.prepare(inner)
    minx, miny, maxx, maxy = inner.bounds
    points: list[tuple[float, float]] = []
    misses = 0
    while len(points) < count:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        close = spacing * spacing
        if (shapely.contains_xy(inner, x, y)
                and all((x - px) ** 2 + (y - py) ** 2 >= close for px, py in points)):
            points.append((x, y))
            continue
        misses += 1
        if misses > 100 * count:
            spacing *= 0.9
            misses = 0
    return points


def voronoi_cells(frame: Frame, seeds_m: list[tuple[float, float]], outline_u: Polygon) -> list[Polygon]:
    """The Voronoi cells of `seeds_m` (metres) within `outline_u` (integer grid units), in seed order.

    The cells tile the outline exactly. A piece of a cell cut off by a bend of the
    outline goes to the neighbour it shares the longest edge with.
    """
    seeds = MultiPoint(seeds_m)
    envelope = frame.to_metres(outline_u).envelope.buffer(1000)
    edges = frame.to_units(shapely.voronoi_polygons(seeds, extend_to=envelope, only_edges=True))
    lines = shapely.union_all([shapely.intersection(edges, outline_u), outline_u.boundary], grid_size=1.0)
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    faces = [f for f in faces if f.area > 0]
    tree = shapely.STRtree(faces)
    seed_points = list(frame.to_units(seeds).geoms)
    hits = tree.query(seed_points, predicate="within")
    owner_of_face: dict[int, int] = {}
    for seed, face in zip(*hits.tolist()):
        if face in owner_of_face:
            raise PartitionError("two seeds in one Voronoi face")
        owner_of_face[face] = seed
    if len(owner_of_face) != len(seed_points):
        raise PartitionError("a seed lies on no Voronoi face")
    cells: list[Polygon] = [Polygon()] * len(seed_points)
    for face, seed in owner_of_face.items():
        cells[seed] = faces[face]
    orphans = [faces[i] for i in range(len(faces)) if i not in owner_of_face]
    for _ in range(len(orphans) + 1):
        if not orphans:
            break
        left = []
        for orphan in orphans:
            shared = [(shapely.length(shapely.intersection(orphan, cell)), i)
                      for i, cell in enumerate(cells) if shapely.intersects(orphan, cell)]
            shared = [s for s in shared if s[0] > 0]
            if not shared:
                left.append(orphan)
                continue
            _, best = max(shared)
            merged = shapely.union(cells[best], orphan)
            if merged.geom_type != "Polygon":
                raise PartitionError("merging a cut-off piece did not give one polygon")
            cells[best] = merged
        orphans = left
    if orphans:
        raise PartitionError("a cut-off piece touches no cell")
    return cells


@dataclass
class Contact:
    """Where two units (or a unit and the outside) meet: total edge length, and its length-weighted middle."""
    length: float = 0.0
    sx: float = 0.0
    sy: float = 0.0

    def add(self, length: float, x: float, y: float) -> None:
        self.length += length
        self.sx += length * x
        self.sy += length * y

    def merge(self, other: Contact) -> None:
        self.length += other.length
        self.sx += other.sx
        self.sy += other.sy

    @property
    def middle(self) -> tuple[float, float]:
        return self.sx / self.length, self.sy / self.length


def contacts(cells: list[Polygon], outline: Polygon) -> tuple[dict[tuple[int, int], Contact], dict[int, Contact]]:
    """Shared edges between cells (keys i < j) and each cell's edge on the outline, in grid units."""
    cells = np.asarray(cells, dtype=object)
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="touches")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.intersection(cells[left], cells[right])
    pairs: dict[tuple[int, int], Contact] = {}
    for i, j, line in zip(left.tolist(), right.tolist(), shared):
        length = shapely.length(line)
        if length > 0:
            c = shapely.centroid(line)
            pairs.setdefault((i, j), Contact()).add(length, c.x, c.y)
    border: dict[int, Contact] = {}
    edges = shapely.intersection(shapely.boundary(cells), outline.boundary)
    for i, line in enumerate(edges):
        length = shapely.length(line)
        if length > 0:
            c = shapely.centroid(line)
            border.setdefault(i, Contact()).add(length, c.x, c.y)
    return pairs, border


def neighbours(pairs: dict[tuple[int, int], Contact], count: int) -> list[dict[int, float]]:
    graph: list[dict[int, float]] = [{} for _ in range(count)]
    for (i, j), c in pairs.items():
        graph[i][j] = c.length
        graph[j][i] = c.length
    return graph


def components(cells: list[int], graph: list[dict[int, float]]) -> list[list[int]]:
    """Connected parts of a set of cells, largest first."""
    todo = set(cells)
    parts = []
    for start in cells:
        if start not in todo:
            continue
        todo.discard(start)
        part, stack = [start], [start]
        while stack:
            for n in graph[stack.pop()]:
                if n in todo:
                    todo.discard(n)
                    part.append(n)
                    stack.append(n)
        parts.append(sorted(part))
    parts.sort(key=lambda p: (-len(p), p[0]))
    return parts


def make_contiguous(assign: list[int], graph: list[dict[int, float]], parent_of_group=None) -> list[int]:
    """Move every detached piece of a group to the neighbouring group it shares most edge with.

    `parent_of_group` (group → parent) restricts moves to groups of the same parent.
    """
    assign = list(assign)
    same = (lambda g, h: parent_of_group[g] == parent_of_group[h]) if parent_of_group else (lambda g, h: True)
    for _ in range(100):
        members: dict[int, list[int]] = defaultdict(list)
        for cell, group in enumerate(assign):
            members[group].append(cell)
        moved = False
        for group in sorted(members):
            for piece in components(members[group], graph)[1:]:
                score: dict[int, float] = defaultdict(float)
                for cell in piece:
                    for n, length in graph[cell].items():
                        other = assign[n]
                        if other != group and same(group, other):
                            score[other] += length
                if score:
                    target = max(sorted(score), key=score.__getitem__)
                    for cell in piece:
                        assign[cell] = target
                    moved = True
        if not moved:
            return assign
    raise PartitionError("groups could not be made contiguous")


def ensure_minimum(assign: list[int], graph: list[dict[int, float]], parent_of_group: dict[int, int],
                   minimum: int) -> list[int]:
    """Give every group at least `minimum` cells, taking them from neighbours of the same parent."""
    assign = list(assign)
    for _ in range(10 * len(assign)):
        members: dict[int, list[int]] = defaultdict(list)
        for cell, group in enumerate(assign):
            members[group].append(cell)
        small = [g for g in sorted(members) if len(members[g]) < minimum]
        if not small:
            return assign
        group = small[0]
        best = None
        for cell in members[group]:
            for n, length in graph[cell].items():
                donor = assign[n]
                if (donor == group or parent_of_group[donor] != parent_of_group[group]
                        or len(members[donor]) <= minimum):
                    continue
                rest = [c for c in members[donor] if c != n]
                if len(components(rest, graph)) != 1:
                    continue
                if best is None or length > best[0]:
                    best = (length, n)
        if best is None:
            raise PartitionError(f"group {group} cannot reach {minimum} cells")
        assign[best[1]] = group
    raise PartitionError("could not balance groups")


def kmeans(rng: random.Random, points: list[tuple[float, float]], k: int, rounds: int = 15) -> list[int]:
    """Cluster labels for `points` (k clusters, farthest-point start, Lloyd rounds)."""
    centres = [points[rng.randrange(len(points))]]
    while len(centres) < k:
        far = max(range(len(points)), key=lambda i: min(_d2(points[i], c) for c in centres))
        centres.append(points[far])
    labels = [0] * len(points)
    for _ in range(rounds):
        labels = [min(range(k), key=lambda j: _d2(p, centres[j])) for p in points]
        for j in range(k):
            mine = [p for p, label in zip(points, labels) if label == j]
            if mine:
                centres[j] = (sum(p[0] for p in mine) / len(mine), sum(p[1] for p in mine) / len(mine))
    return labels


def _d2(a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
