"""One geodesy helper: degree lengths, boxes and error bounds checked against pyproj."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from truceline.geo.geodesy import (
    aeqd_error_bound,
    degree_box,
    degrees_per_metre,
    distance_m,
    metres_per_degree,
)
from truceline.geo.projection import Projector

GEOD = Geod(ellps="WGS84")


@pytest.mark.parametrize("lat", [0.0, 30.0, 48.5, 70.0])
def test_degree_lengths_match_geodesics(lat: float) -> None:
    per_lat, per_lon = metres_per_degree(lat)
    _, _, along_meridian = GEOD.inv(30.0, lat - 0.0005, 30.0, lat + 0.0005)
    _, _, along_parallel = GEOD.inv(30.0, lat, 30.001, lat)
    assert float(per_lat) * 0.001 == pytest.approx(along_meridian, rel=1e-6)
    assert float(per_lon) * 0.001 == pytest.approx(along_parallel, rel=1e-6)
    dlon, dlat = degrees_per_metre(lat)
    assert float(dlon) * float(per_lon) == pytest.approx(1.0)
    assert float(dlat) * float(per_lat) == pytest.approx(1.0)


def test_a_degree_box_holds_its_circle() -> None:
    rng = np.random.default_rng(1)
    lat = rng.uniform(-80, 80, 2000)
    lon = rng.uniform(-170, 170, 2000)
    radius = rng.uniform(10, 50_000, 2000)
    az = rng.uniform(0, 360, 2000)
    qlon, qlat, _ = GEOD.fwd(lon, lat, az, radius)
    dlon, dlat = degree_box(radius, lat)
    assert (np.abs(qlat - lat) <= dlat).all()
    assert (np.abs(qlon - lon) <= dlon).all()


def test_distances_and_the_aeqd_error_bound() -> None:
    assert float(distance_m(35.0, 48.0, 35.0, 49.0)) == pytest.approx(111_200, abs=50)
    rng = np.random.default_rng(2)
    n = 20_000
    lon, lat = rng.uniform(31, 40, n), rng.uniform(46, 50.5, n)
    az, d = rng.uniform(0, 360, n), rng.uniform(0, 6000, n)
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, d)
    for lat0, lon0 in ((48.0, 35.0), (46.0, 31.0)):
        x1, y1 = Projector(lat0, lon0).forward(lon, lat)
        x2, y2 = Projector(lat0, lon0).forward(lon2, lat2)
        err = np.abs(np.hypot(x2 - x1, y2 - y1) - d)
        allp = (np.concatenate([lon, lon2]), np.concatenate([lat, lat2]))
        bound = aeqd_error_bound(6000.0, *allp, lon0, lat0)
        assert err.max() <= bound
        assert err.max() > 0.01  # the projection does distort: the bound is not vacuous
