"""Distance to a polyline: exact against shapely on hand-made and random lines."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.domain.errors import InputError
from truceline.geo.lines import SegmentIndex


def test_known_distances() -> None:
    line = SegmentIndex([[(0, 0), (1000, 0), (1000, 1000)]], cell_m=50)
    x = np.array([500.0, -300.0, 1300.0, 2000.0, 500.0, 1000.0])
    y = np.array([250.0, 400.0, 500.0, 2000.0, 0.0, 1000.0])
    expect = [250.0, 500.0, 300.0, np.hypot(1000, 1000), 0.0, 0.0]
    np.testing.assert_allclose(line.distance(x, y), expect, atol=1e-9)


def test_degenerate_segment_and_nan() -> None:
    line = SegmentIndex([[(5, 5), (5, 5)], [(0, 0), (0, 10)]])
    d = line.distance(np.array([5.0, np.nan, 8.0]), np.array([8.0, 1.0, 5.0]))
    assert d[0] == pytest.approx(3.0)
    assert np.isnan(d[1])
    assert d[2] == pytest.approx(3.0)


def test_bad_lines() -> None:
    with pytest.raises(InputError, match="at least one segment"):
        SegmentIndex([[(0, 0)]])
    with pytest.raises(InputError, match="finite"):
        SegmentIndex([[(0, 0), (np.nan, 1)]])
    with pytest.raises(InputError, match="positive"):
        SegmentIndex([[(0, 0), (1, 1)]], cell_m=0)


coord = st.integers(-50_000_000, 50_000_000).map(lambda v: v / 1000)  # metres, mm grid
far = st.integers(-200_000_000, 200_000_000).map(lambda v: v / 1000)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.tuples(coord, coord), min_size=2, max_size=40), min_size=1, max_size=3),
    st.lists(st.tuples(far, far), min_size=1, max_size=300),
    st.sampled_from([10.0, 250.0, 5000.0]),
)
def test_equals_shapely(
    parts: list[list[tuple[float, float]]], pts: list[tuple[float, float]], cell: float
) -> None:
    idx = SegmentIndex(parts, cell_m=cell)
    p = np.array(pts)
    got = idx.distance(p[:, 0], p[:, 1])
    ref = shapely.distance(shapely.points(p), shapely.MultiLineString(parts))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-6)


def test_many_points_on_a_wiggly_line() -> None:
    """A long zig-zag line and 20,000 points: the quadtree's candidate pruning is exact."""
    rng = np.random.default_rng(7)
    t = np.linspace(0, 400_000, 2000)
    line = np.column_stack([t, 20_000 * np.sin(t / 30_000) + rng.normal(0, 300, len(t))])
    idx = SegmentIndex([line])
    p = rng.uniform([-50_000, -150_000], [450_000, 150_000], (20_000, 2))
    ref = shapely.distance(shapely.points(p), shapely.LineString(line))
    np.testing.assert_allclose(idx.distance(p[:, 0], p[:, 1]), ref, rtol=1e-12, atol=1e-6)


def _dense_wiggle(n: int, seed: int) -> npt.NDArray[np.float64]:
    """A long line of ``n`` vertices about 20 m apart, wiggling like a traced front."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 20.0 * n, n)
    y = 20_000 * np.sin(t / 30_000) + np.cumsum(rng.normal(0, 8, n))
    return np.column_stack([t, y])


def test_a_dense_line_through_its_coarse_copy_is_still_exact() -> None:
    line = _dense_wiggle(20_000, 3)
    idx = SegmentIndex([line[:12_000], line[11_999:]])  # two parts: runs end at part ends
    assert idx.n_coarse and idx.n_coarse * 3 <= idx.n_segments and idx.error_m == 0.0
    rng = np.random.default_rng(4)
    near = line[rng.integers(0, len(line), 10_000)] + rng.normal(0, 60, (10_000, 2))
    p = np.vstack([near, rng.uniform([-50_000, -80_000], [450_000, 80_000], (10_000, 2))])
    ref = shapely.distance(shapely.points(p), shapely.LineString(line))
    np.testing.assert_allclose(idx.distance(p[:, 0], p[:, 1]), ref, rtol=1e-12, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(coord, coord), min_size=2, max_size=60),
    st.lists(st.tuples(far, far), min_size=1, max_size=200),
    st.sampled_from([1.0, 300.0, 20_000.0]),
    st.sampled_from([10.0, 2000.0, 50_000.0]),
)
def test_coarse_copies_of_any_tolerance_keep_distances_exact(
    line: list[tuple[float, float]], pts: list[tuple[float, float]], coarse: float, switch: float
) -> None:
    idx = SegmentIndex([line], cell_m=250.0, coarse_m=coarse, switch_m=switch)
    p = np.array(pts)
    ref = shapely.distance(shapely.points(p), shapely.LineString(line))
    np.testing.assert_allclose(idx.distance(p[:, 0], p[:, 1]), ref, rtol=1e-12, atol=1e-6)


def test_a_tolerance_bounds_the_error_and_keeps_the_near_points_exact() -> None:
    line = _dense_wiggle(20_000, 5)
    exact = SegmentIndex([line], coarse_m=0)
    fast = SegmentIndex([line], tolerance_m=50.0)
    assert exact.error_m == 0.0 and 0 < fast.error_m <= 50.0 + 1e-6
    rng = np.random.default_rng(6)
    near = line[rng.integers(0, len(line), 20_000)] + rng.normal(0, 80, (20_000, 2))
    p = np.vstack([near, rng.uniform([-50_000, -80_000], [450_000, 80_000], (20_000, 2))])
    want, got = exact.distance(p[:, 0], p[:, 1]), fast.distance(p[:, 0], p[:, 1])
    assert np.abs(got - want).max() <= fast.error_m + 1e-6
    assert (got != want).any()  # far points did take the coarse copy
    close = want <= 50.0
    assert close.sum() > 1000 and np.array_equal(got[close], want[close])
    with pytest.raises(InputError, match="tolerance"):
        SegmentIndex([line], tolerance_m=-1.0)
