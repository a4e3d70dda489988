"""Side of the line: probabilities from location uncertainty, not the centre point."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm
from shapely import contains_xy
from shapely.geometry import box

from truceline.fusion.bearings import CHI2_95_2D
from truceline.fusion.side import side_probabilities
from truceline.geo.geodesy import degrees_per_metre

LON0 = 37.5
WEST = box(30.0, 44.0, LON0, 52.0)  # held by "P"
EAST = box(LON0, 44.0, 45.0, 52.0)  # held by "Q"
CONTROL = {"Q": EAST, "P": WEST}


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(45.0, 51.0),
    d_m=st.floats(-8000, 8000),
    r_m=st.floats(50, 6000),
)
def test_circle_matches_the_normal_half_plane(lat: float, d_m: float, r_m: float) -> None:
    dlon, _ = degrees_per_metre(lat)
    lon = LON0 + d_m * dlon
    sp = side_probabilities([lon], [lat], [r_m], CONTROL)
    assert sp.parties == ("P", "Q")
    sigma = r_m / np.sqrt(CHI2_95_2D)
    expect_q = norm.cdf(d_m / sigma)
    assert abs(sp.p[0, 1] - expect_q) < 0.03
    assert abs(sp.p[0].sum() - 1) < 1e-9


def test_centre_side_is_not_the_answer() -> None:
    dlon, _ = degrees_per_metre(48.0)
    # centre 100 m east of the line with a 2 km radius: nearly a coin toss, not "Q"
    sp = side_probabilities([LON0 + 100 * dlon], [48.0], [2000.0], CONTROL)
    assert 0.4 < sp.p[0, 1] < 0.7 and sp.p[0, 0] > 0.3
    # far from the line: certain, without sampling error
    far = side_probabilities([LON0 - 0.5, LON0 + 0.5], [48.0, 48.0], [2000.0, 2000.0], CONTROL)
    assert far.p.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert far.as_dicts()[1] == {"P": 0.0, "Q": 1.0}


def test_ellipse_orientation_matters() -> None:
    dlon, _ = degrees_per_metre(48.0)
    lon = LON0 + 1000 * dlon
    args = dict(semi_major_m=[5000.0], semi_minor_m=[200.0])
    along = side_probabilities([lon], [48.0], [5000.0], CONTROL, azimuth_deg=[0.0], **args)
    across = side_probabilities([lon], [48.0], [5000.0], CONTROL, azimuth_deg=[90.0], **args)
    assert along.p[0, 1] > 0.99  # ellipse runs north-south, beside the line
    assert 0.55 < across.p[0, 1] < 0.85


def test_outside_every_area_and_zero_radius() -> None:
    sp = side_probabilities([20.0, LON0 + 0.01], [48.0, 48.0], [100.0, 0.0], CONTROL)
    assert sp.p[0].sum() == 0.0
    assert sp.p[1].tolist() == [0.0, 1.0]


def test_renaming_parties_renames_the_answer() -> None:
    rng = np.random.default_rng(3)
    lon, lat, r = rng.uniform(37.3, 37.7, 200), rng.uniform(47, 49, 200), rng.uniform(0, 9e3, 200)
    one = side_probabilities(lon, lat, r, {"P": WEST, "Q": EAST})
    two = side_probabilities(lon, lat, r, {"P": EAST, "Q": WEST})
    assert np.allclose(one.p, two.p[:, ::-1])
    assert (one.p.sum(axis=1) <= 1 + 1e-9).all()


def test_stored_offsets_are_the_computed_ones() -> None:
    from truceline.fusion.side import DEFAULT_SAMPLES, computed_offsets, normal_offsets

    assert np.array_equal(normal_offsets(), computed_offsets(DEFAULT_SAMPLES))
    assert np.array_equal(normal_offsets(16), computed_offsets(16))


def _every_offset(lon, lat, r, geom, a, b, az):  # type: ignore[no-untyped-def]
    """The share of all 256 offsets inside ``geom``, each tested: the definition."""
    from truceline.fusion.side import normal_offsets

    z = normal_offsets()
    s = 1 / np.sqrt(CHI2_95_2D)
    dlon, dlat = degrees_per_metre(np.asarray(lat))
    out = []
    for k in range(len(lon)):
        sa, sb = (a[k] * s, b[k] * s) if np.isfinite(a[k]) else (r[k] * s, r[k] * s)
        th = np.radians(az[k]) if np.isfinite(a[k]) else 0.0
        ux, uy = np.sin(th), np.cos(th)
        e = z[:, 0] * sa * ux + z[:, 1] * sb * uy
        n = z[:, 0] * sa * uy - z[:, 1] * sb * ux
        inside = contains_xy(geom, lon[k] + e * dlon[k], lat[k] + n * dlat[k])
        out.append(inside.mean())
    return np.array(out)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_untested_offsets_lie_on_the_centre_side(seed: int) -> None:
    """Offsets nearer the centre than the boundary are not tested: the shares still equal
    testing every offset, for circles and ellipses near a boundary with a hole."""
    rng = np.random.default_rng(seed)
    area = box(35.0, 48.0, 35.2, 48.2).difference(box(35.05, 48.05, 35.1, 48.1))
    n = 60
    lon, lat = rng.uniform(34.98, 35.22, n), rng.uniform(47.98, 48.22, n)
    r = rng.choice([0.0, 50.0, 800.0, 3000.0], n)
    a = np.where(rng.random(n) < 0.3, rng.uniform(100, 4000, n), np.nan)
    b, az = a * rng.uniform(0.1, 1.0, n), rng.uniform(0, 360, n)
    got = side_probabilities(lon, lat, r, {"P": area}, semi_major_m=a, semi_minor_m=b,
                             azimuth_deg=az)  # fmt: skip
    np.testing.assert_array_equal(got.p[:, 0], _every_offset(lon, lat, r, area, a, b, az))
