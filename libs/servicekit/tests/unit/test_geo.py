"""WGS-84 <-> GCJ-02, coordinate checks, metres per degree."""
import math

import numpy as np
import pytest

from servicekit import geo

JINCHENG = (112.85, 35.50)


def test_forward_matches_the_published_reference_pair():
    # wandergis/coordtransform's own example: wgs84togcj02(116.404, 39.915).
    lon, lat = geo.wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-12)
    assert lat == pytest.approx(39.91640428150164, abs=1e-12)


def test_offset_near_jincheng_is_a_few_hundred_metres():
    lon, lat = geo.wgs84_to_gcj02(*JINCHENG)
    assert 300 < geo.distance_m(*JINCHENG, lon, lat) < 800
    assert lon > JINCHENG[0]  # the offset here is mostly eastwards


def china_grid():
    lons, lats = np.meshgrid(np.arange(73.5, 135.0, 1.37), np.arange(18.2, 53.5, 0.91))
    return lons.ravel(), lats.ravel()


def test_round_trip_is_sub_centimetre_across_china():
    lons, lats = china_grid()
    back_lon, back_lat = geo.gcj02_to_wgs84(*geo.wgs84_to_gcj02(lons, lats))
    assert np.max(np.abs(back_lon - lons)) < 1e-9  # 1e-9 degrees is about 0.1 mm
    assert np.max(np.abs(back_lat - lats)) < 1e-9


def test_inverse_inverts_a_gcj02_input_too():
    lons, lats = china_grid()
    w_lon, w_lat = geo.gcj02_to_wgs84(lons, lats)
    again_lon, again_lat = geo.wgs84_to_gcj02(w_lon, w_lat)
    assert np.max(np.abs(again_lon - lons)) < 1e-9
    assert np.max(np.abs(again_lat - lats)) < 1e-9


def test_the_iterated_inverse_beats_the_one_step_inverse():
    lons, lats = china_grid()
    g_lon, g_lat = geo.wgs84_to_gcj02(lons, lats)
    one_step_lon = 2 * g_lon - geo.wgs84_to_gcj02(g_lon, g_lat)[0]
    one_step_error_m = geo.distance_m(one_step_lon, lats, lons, lats).max()
    ours_lon, ours_lat = geo.gcj02_to_wgs84(g_lon, g_lat)
    assert one_step_error_m > 0.5
    assert geo.distance_m(ours_lon, ours_lat, lons, lats).max() < 0.001


def test_scalar_and_array_forms_agree():
    lons, lats = china_grid()
    arr_lon, arr_lat = geo.gcj02_to_wgs84(lons, lats)
    for i in range(0, lons.size, 97):
        lon, lat = geo.gcj02_to_wgs84(float(lons[i]), float(lats[i]))
        assert lon == pytest.approx(arr_lon[i], abs=1e-10)
        assert lat == pytest.approx(arr_lat[i], abs=1e-10)


@pytest.mark.parametrize("lon, lat", [(2.35, 48.85), (-74.0, 40.7), (139.7, 35.7), (100.0, -5.0), (60.0, 40.0)])
def test_no_offset_outside_china(lon, lat):
    assert geo.outside_china(lon, lat)
    assert geo.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert geo.gcj02_to_wgs84(lon, lat) == (lon, lat)
    arr = geo.wgs84_to_gcj02(np.array([lon, JINCHENG[0]]), np.array([lat, JINCHENG[1]]))
    assert (arr[0][0], arr[1][0]) == (lon, lat)
    assert arr[0][1] != JINCHENG[0]


def test_outside_china_is_the_usual_bounding_box():
    assert geo.outside_china(72.0, 30.0) and not geo.outside_china(72.01, 30.0)
    assert geo.outside_china(120.0, 55.83) and not geo.outside_china(120.0, 55.82)
    assert not geo.outside_china(*JINCHENG)


def test_to_wgs84_by_datum():
    g = geo.wgs84_to_gcj02(*JINCHENG)
    assert geo.to_wgs84(*JINCHENG, "wgs84") == JINCHENG
    assert geo.to_wgs84(*g, "gcj02") == pytest.approx(JINCHENG, abs=1e-10)
    with pytest.raises(ValueError):
        geo.to_wgs84(*JINCHENG, "bd09")


@pytest.mark.parametrize("lon, lat", [(180, 90), (-180, -90), (0, 0), (112.85, 35.5), (np.float64(1.0), 2)])
def test_valid_coordinates(lon, lat):
    assert geo.valid_lon_lat(lon, lat)
    assert geo.check_lon_lat(lon, lat) == (float(lon), float(lat))


@pytest.mark.parametrize("lon, lat", [(180.0001, 0), (0, -90.5), (math.nan, 0), (0, math.inf), ("112", 35),
                                      (True, 35), (None, 35)])
def test_invalid_coordinates(lon, lat):
    assert not geo.valid_lon_lat(lon, lat)
    with pytest.raises(ValueError):
        geo.check_lon_lat(lon, lat)


def test_array_check_names_the_bad_positions():
    assert geo.valid_lon_lat(np.array([0.0, 200.0, np.nan]), np.array([0.0, 0.0, 0.0])).tolist() == [True, False,
                                                                                                      False]
    with pytest.raises(ValueError, match=r"2 points .* \[1, 3\]"):
        geo.check_lon_lat_arrays([0, 181, 0, 0], [0, 0, 0, -91])
    with pytest.raises(ValueError, match="3 longitudes but 2 latitudes"):
        geo.check_lon_lat_arrays([0, 0, 0], [0, 0])


def test_metres_per_degree_near_jincheng():
    kx, ky = geo.metres_per_degree(35.5)
    assert kx == pytest.approx(90_730, rel=1e-3)   # 1 degree of longitude at 35.5 N
    assert ky == pytest.approx(110_950, rel=1e-3)  # 1 degree of latitude
    assert geo.distance_m(112.85, 35.5, 112.85, 35.501) == pytest.approx(110.95, rel=1e-3)
