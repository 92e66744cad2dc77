"""Coordinates: WGS-84 <-> GCJ-02, validity checks, and metres on a local flat approximation.

Boundaries are stored in WGS-84 (what a GPS receiver and GeoJSON give). Chinese map
apps (高德/Amap, 腾讯/Tencent, the WeChat location picker) show and return GCJ-02,
"Mars coordinates": WGS-84 shifted by a published obfuscation formula, a few hundred
metres in this district. A report made on such an app must be converted back before
it is located, or it lands in the wrong grid.

- `wgs84_to_gcj02` is the well-known public formula (Krasovsky ellipsoid constants,
  offset polynomials centred on 105E 35N). Outside China's rough bounding box
  (`outside_china`) it applies no offset, as the apps do.
- `gcj02_to_wgs84` inverts it by fixed-point iteration, w <- w - (f(w) - g), to
  1e-10 degrees (about 0.01 mm); the offset changes slowly with position, so this
  converges in a handful of steps. The common one-step inverse (w = 2g - f(g)) is off
  by up to a few metres, enough to cross a street.

The conversions, `valid_lon_lat` and `distance_m` take floats or numpy arrays alike.
"""
from __future__ import annotations

import math
import numbers

import json
from typing import Mapping

import numpy as np
import shapely
from shapely.geometry import shape

# GCJ-02 constants: the Krasovsky 1940 ellipsoid the formula is defined on.
_A = 6378245.0
_EE = 0.00669342162296594323

# WGS-84 ellipsoid, for metres per degree.
_WGS84_A = 6378137.0
_WGS84_E2 = 0.00669437999014

INVERSE_TOLERANCE_DEG = 1e-10
_INVERSE_MAX_STEPS = 30


def outside_china(lon, lat):
    """True where the point lies outside the bounding box in which the GCJ-02 offset applies."""
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _xp(*values):
    """math for plain numbers (fast for one point), numpy for arrays."""
    for value in values:
        if isinstance(value, np.ndarray):
            return np
    return math


def _offset(lon, lat):
    """The GCJ-02 offset (dlon, dlat) in degrees at a WGS-84 point, ignoring the China test."""
    xp = _xp(lon, lat)
    pi = math.pi
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * xp.sin(6.0 * x * pi) + 20.0 * xp.sin(2.0 * x * pi)) * 2.0 / 3.0
    sqrt_abs_x = xp.sqrt(abs(x))
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * xp.sin(y * pi) + 40.0 * xp.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * xp.sin(y / 12.0 * pi) + 320.0 * xp.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * xp.sin(x * pi) + 40.0 * xp.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * xp.sin(x / 12.0 * pi) + 300.0 * xp.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _EE * xp.sin(rad_lat) ** 2
    sqrt_magic = xp.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * xp.cos(rad_lat) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat):
    """WGS-84 -> GCJ-02. Unchanged outside China."""
    if _xp(lon, lat) is math:
        if outside_china(lon, lat):
            return lon, lat
        dlon, dlat = _offset(lon, lat)
        return lon + dlon, lat + dlat
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _offset(lon, lat)
    out = outside_china(lon, lat)
    return np.where(out, lon, lon + dlon), np.where(out, lat, lat + dlat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 -> WGS-84 by iteration, to `INVERSE_TOLERANCE_DEG`. Unchanged outside China."""
    if _xp(lon, lat) is math:
        if outside_china(lon, lat):
            return lon, lat
        w_lon, w_lat = lon, lat
        for _ in range(_INVERSE_MAX_STEPS):
            g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
            e_lon, e_lat = g_lon - lon, g_lat - lat
            w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
            if abs(e_lon) < INVERSE_TOLERANCE_DEG and abs(e_lat) < INVERSE_TOLERANCE_DEG:
                break
        return w_lon, w_lat
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w_lon, w_lat = lon.copy(), lat.copy()
    for _ in range(_INVERSE_MAX_STEPS):
        g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = g_lon - lon, g_lat - lat
        w_lon -= e_lon
        w_lat -= e_lat
        if np.all(np.abs(e_lon) < INVERSE_TOLERANCE_DEG) and np.all(np.abs(e_lat) < INVERSE_TOLERANCE_DEG):
            break
    out = outside_china(lon, lat)
    return np.where(out, lon, w_lon), np.where(out, lat, w_lat)


def to_wgs84(lon, lat, datum: str):
    """A point (or arrays) given in `datum` ("wgs84" or "gcj02"), in WGS-84."""
    if datum == "wgs84":
        return lon, lat
    if datum == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    raise ValueError(f"unknown datum {datum!r}: wgs84 or gcj02")


# --- validity -------------------------------------------------------------------------

def valid_lon_lat(lon, lat):
    """True where lon is in [-180, 180], lat in [-90, 90], both finite numbers."""
    if _xp(lon, lat) is math:
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in (lon, lat)):
            return False
        return math.isfinite(lon) and math.isfinite(lat) and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180.0) & (np.abs(lat) <= 90.0)


def check_lon_lat(lon, lat) -> tuple[float, float]:
    """The point as floats, or ValueError saying what is wrong with it."""
    if type(lon) is float and type(lat) is float and -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0:
        return lon, lat  # the usual case, fast (NaN fails the comparisons and goes the long way)
    if not valid_lon_lat(lon, lat):
        raise ValueError(f"not a coordinate: lon={lon!r} lat={lat!r} "
                         "(finite numbers, lon in [-180, 180], lat in [-90, 90])")
    return float(lon), float(lat)


def check_lon_lat_arrays(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """Two equal-length float arrays, or ValueError naming the first few bad positions."""
    lons, lats = np.asarray(lons, dtype=float).ravel(), np.asarray(lats, dtype=float).ravel()
    if lons.shape != lats.shape:
        raise ValueError(f"{lons.size} longitudes but {lats.size} latitudes")
    bad = np.flatnonzero(~valid_lon_lat(lons, lats))
    if bad.size:
        raise ValueError(f"{bad.size} points are not coordinates (finite, lon in [-180, 180], "
                         f"lat in [-90, 90]), first at positions {bad[:5].tolist()}")
    return lons, lats


# --- metres ---------------------------------------------------------------------------

def metres_per_degree(lat: float) -> tuple[float, float]:
    """(metres per degree of longitude, of latitude) at `lat` on the WGS-84 ellipsoid.

    A local equirectangular approximation: near `lat`, x = dlon * kx and y = dlat * ky
    are metres. Across this district (about 0.3 degrees north-south) the scale drifts
    by under 0.3 %, well within what areas and radii here need.
    """
    phi = math.radians(lat)
    w = math.sqrt(1.0 - _WGS84_E2 * math.sin(phi) ** 2)
    meridional = _WGS84_A * (1.0 - _WGS84_E2) / w ** 3
    normal = _WGS84_A / w
    return math.radians(1.0) * normal * math.cos(phi), math.radians(1.0) * meridional


def distance_m(lon1, lat1, lon2, lat2):
    """Short distances in metres (equirectangular at the mean latitude); floats or arrays."""
    xp = _xp(lon1, lat1, lon2, lat2)
    phi = (lat1 + lat2) / 2.0 * (math.pi / 180.0)
    w = xp.sqrt(1.0 - _WGS84_E2 * xp.sin(phi) ** 2)
    kx = math.radians(1.0) * _WGS84_A / w * xp.cos(phi)
    ky = math.radians(1.0) * _WGS84_A * (1.0 - _WGS84_E2) / w ** 3
    return xp.hypot((lon1 - lon2) * kx, (lat1 - lat2) * ky)


# --- GeoJSON --------------------------------------------------------------------------

def geometry_from_geojson(raw):
    """A shapely geometry from a GeoJSON geometry given as a dict or as text (as stored)."""
    if isinstance(raw, str):
        raw = json.loads(raw)
    if not isinstance(raw, Mapping):
        raise ValueError("not a GeoJSON geometry")
    return shape(raw)


def geometry_to_geojson(geometry) -> dict:
    """A shapely geometry as a GeoJSON dict of plain lists."""
    return json.loads(shapely.to_geojson(geometry))


def record_parts(item: Mapping) -> tuple[Mapping, object]:
    """(properties, raw geometry) of a plain record or of a GeoJSON Feature.

    A plain record holds code, level, parent_code (status...) at the top and its
    geometry under `geometry` or `boundary`; a Feature holds them in `properties`.
    """
    if item.get("type") == "Feature":
        return item.get("properties") or {}, item.get("geometry")
    return item, item.get("geometry", item.get("boundary"))
