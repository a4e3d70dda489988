"""Distance to a polyline: exact against shapely on hand-made and random lines."""

from __future__ import annotations

import numpy as np
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
