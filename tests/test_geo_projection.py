"""Projection: the aeqd definition, round trips, and errors translated once."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from truceline.domain.errors import InputError
from truceline.geo.projection import Projector, aeqd_crs

BENCH_CRS = "+proj=aeqd +lat_0=48.5 +lon_0=35 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"


def test_crs_string_is_the_benchmarks() -> None:
    assert Projector(48.5, 35).crs == BENCH_CRS
    assert aeqd_crs(-12.25, 0.0) == (
        "+proj=aeqd +lat_0=-12.25 +lon_0=0 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
    )


def test_for_bounds_is_centred() -> None:
    p = Projector.for_bounds(30.0, 45.0, 40.0, 52.0)
    assert (p.lat0, p.lon0) == (48.5, 35.0)
    x, y = p.forward(np.array([35.0]), np.array([48.5]))
    assert abs(x[0]) < 1e-6 and abs(y[0]) < 1e-6


def test_distance_from_centre_is_geodesic() -> None:
    """aeqd keeps distances from its centre: |(x, y)| equals the geodesic distance."""
    p = Projector(48.5, 35.0)
    lon, lat = np.array([30.0, 39.5, 35.0]), np.array([45.0, 51.9, 52.0])
    x, y = p.forward(lon, lat)
    _, _, s = Geod(ellps="WGS84").inv(np.full(3, 35.0), np.full(3, 48.5), lon, lat)
    np.testing.assert_allclose(np.hypot(x, y), s, rtol=0, atol=1e-6)
    assert x[2] == pytest.approx(0.0, abs=1e-6) and y[2] > 380_000


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-60, 60),
    st.floats(-170, 170),
    st.lists(st.tuples(st.floats(-4, 4), st.floats(-4, 4)), min_size=1, max_size=20),
)
def test_round_trip(lat0: float, lon0: float, offsets: list[tuple[float, float]]) -> None:
    p = Projector(lat0, lon0)
    d = np.array(offsets)
    lon, lat = lon0 + d[:, 0], lat0 + d[:, 1]
    x, y = p.forward(lon, lat)
    lon2, lat2 = p.inverse(x, y)
    np.testing.assert_allclose(lon2, lon, atol=1e-8)  # ~1 mm; PROJ snaps lat_0 ~ 0 to 0
    np.testing.assert_allclose(lat2, lat, atol=1e-8)


def test_geometry_round_trip() -> None:
    p = Projector(48.5, 35.0)
    poly = shapely.Polygon([(34, 48), (36, 48), (36, 49), (34, 49)])
    m = p.geometry_forward(poly)
    assert 15_000e6 < m.area < 17_000e6  # ~148 km x ~111 km
    back = p.geometry_inverse(m)
    assert shapely.equals_exact(back, poly, tolerance=1e-9)


@pytest.mark.parametrize(
    ("lat0", "lon0"), [(float("nan"), 0.0), (91.0, 0.0), (0.0, 181.0), (0.0, float("inf"))]
)
def test_bad_centre_is_an_input_error(lat0: float, lon0: float) -> None:
    with pytest.raises(InputError):
        Projector(lat0, lon0)


def test_bad_bounds_and_shapes() -> None:
    with pytest.raises(InputError, match="empty bounds"):
        Projector.for_bounds(40.0, 45.0, 30.0, 52.0)
    with pytest.raises(InputError, match="differ in shape"):
        Projector(0, 0).forward(np.zeros(2), np.zeros(3))
