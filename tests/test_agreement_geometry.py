"""Invariants of the derived geometry, on random contact lines (hypothesis)."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.compliance.agreement import geometry as geo

REGION = shapely.box(36.0, 46.9, 38.0, 48.1)

# a line from below the region to above it, wandering east-west between 36.3 and 37.7
_line = st.lists(st.floats(36.3, 37.7), min_size=2, max_size=8).map(
    lambda xs: shapely.LineString(
        [(xs[0], 46.8)]
        + [(x, 46.95 + 1.1 * (i + 1) / (len(xs) + 1)) for i, x in enumerate(xs)]
        + [(xs[-1], 48.2)]
    )
)


@settings(max_examples=12, deadline=None)
@given(_line, st.floats(2.0, 40.0), st.floats(15.0, 60.0))
def test_control_bands_buffer_sectors(line: shapely.LineString, km: float, length: float) -> None:
    metric = geo.Metric.around(line)
    control = geo.control_areas(REGION, line, {"A": 1, "B": -1}, metric)
    a, b = control["A"], control["B"]
    # the two sides tile the region
    assert abs(a.area + b.area - REGION.area) < 1e-9
    assert shapely.intersection(a, b).area < 1e-9
    # A is left of the line walking north: the region's west edge midpoint is A's
    assert a.contains(shapely.Point(36.0001, 47.5))
    # a band lies in its side and within km of the line (plus arc and simplification error)
    band = geo.band(line, a, km, metric)
    assert shapely.difference(band, a).area < 1e-9
    far = shapely.get_coordinates(metric.fwd(band, densify_deg=0))
    d = shapely.distance(metric.fwd(line), shapely.points(far)) / 1000.0
    assert np.all(d <= km * 1.001 + 0.011)  # + the 10 m simplification before buffering
    # the buffer zone is centred: at most width/2 from the line
    buf = geo.buffer_zone(line, 2 * km, REGION, metric)
    assert shapely.difference(buf, REGION).area < 1e-9
    # sectors do not overlap and cover the corridor inside the region
    secs = geo.sectors(line, length, km, REGION, metric)
    union = shapely.union_all(secs)
    assert abs(sum(s.area for s in secs) - union.area) < 1e-6 * union.area
    corridor = shapely.intersection(geo.near_line(line, km, metric), REGION)
    assert shapely.symmetric_difference(union, corridor).area < 1e-3 * corridor.area
