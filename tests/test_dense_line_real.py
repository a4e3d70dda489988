"""A dense contact line on real data: the fast distance (a simplified copy for far
points) classifies as the exact one, with distances within the stated tolerance."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import mapping

from truceline.compliance.agreement.build import Built
from truceline.geo.features import ZONE_KINDS
from truceline.geo.lines import COARSE_MIN
from truceline.geo.projection import Projector
from truceline.geo.zones import LINE_TOLERANCE_M, ZoneIndex


def _traced(line: shapely.Geometry, spacing_m: float, jitter_m: float) -> shapely.Geometry:
    """``line`` with a vertex every ``spacing_m``, each moved by a seeded jitter: what a
    line traced from a detailed control map looks like."""
    proj = Projector.for_bounds(*shapely.bounds(line))
    xy = shapely.get_coordinates(shapely.segmentize(proj.geometry_forward(line), spacing_m))
    xy[1:-1] += np.random.default_rng(8).normal(0.0, jitter_m, (len(xy) - 2, 2))
    return proj.geometry_inverse(shapely.LineString(xy))


def test_dense_real_line_fast_distance_matches_exact(deepstate_2022: Built) -> None:
    built = deepstate_2022
    dense = _traced(built.agreement.contact_line, 40.0, 10.0)
    assert len(shapely.get_coordinates(dense)) > 4 * COARSE_MIN
    feats = [
        f if f["properties"]["kind"] != "contact_line" else {**f, "geometry": mapping(dense)}
        for f in built.agreement.zones_geojson()["features"]
        if f["properties"]["kind"] in ZONE_KINDS
    ]
    fast = ZoneIndex.from_features(feats)
    exact = ZoneIndex.from_features(feats, line_tolerance_m=0.0)
    assert exact.line_error_km == 0.0 and 0 < fast.line_error_km <= LINE_TOLERANCE_M / 1000
    rng = np.random.default_rng(9)
    on_line = shapely.get_coordinates(dense)[
        rng.integers(0, len(shapely.get_coordinates(dense)), 30_000)
    ]
    near = on_line + rng.normal(0, 0.002, on_line.shape)  # about 150-200 m
    minx, miny, maxx, maxy = shapely.bounds(dense)
    wide = rng.uniform([minx - 1, miny - 1], [maxx + 1, maxy + 1], (30_000, 2))
    p = np.vstack([near, wide])
    a, b = fast.classify(p[:, 0], p[:, 1]), exact.classify(p[:, 0], p[:, 1])
    for name in ("sector", "party", "zones"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    err = np.abs(a.dist_km - b.dist_km)
    assert err.max() <= fast.line_error_km + 1e-9
    assert (err > 0).any()  # the far points were measured on the simplified copy
    close = b.dist_km <= LINE_TOLERANCE_M / 1000
    assert close.sum() > 1000 and np.array_equal(a.dist_km[close], b.dist_km[close])
