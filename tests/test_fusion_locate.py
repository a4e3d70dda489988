"""Fusion maths without a database: locating reports, capping reach, ellipses, merges."""

from __future__ import annotations

import json

import numpy as np
import pytest

from truceline.fusion.locate import ellipses, locate, reach_points, remap
from truceline.geo.projection import Projector

NAN = np.nan
PROJ = Projector(48.0, 35.0)


def _cols(**over: list[float]) -> dict[str, np.ndarray]:
    n = len(next(iter(over.values())))
    base = {k: np.full(n, NAN) for k in (
        "lon", "lat", "radius_m", "obs_lon", "obs_lat", "bearing_deg", "bearing_sd_deg",
        "range_min_m", "range_max_m", "t_unc_s",
    )}  # fmt: skip
    base["t"] = np.zeros(n, np.int64)
    base.update({k: np.asarray(v, np.int64 if k == "t" else float) for k, v in over.items()})
    return base


def test_point_reports_stay_where_they_are_and_bearings_meet_at_their_fix() -> None:
    # a point report, and two observers 10 km apart sighting the same flash
    tx, ty = PROJ.forward(35.0, 48.05)
    ox, oy = np.array([-5000.0, 5000.0]), np.array([0.0, 0.0])
    ox, oy = ox + float(tx), oy + float(ty) - 5000.0
    az = np.degrees(np.arctan2(float(tx) - ox, float(ty) - oy))
    olon, olat = PROJ.inverse(ox, oy)
    cols = _cols(
        lon=[35.2, NAN, NAN], lat=[48.1, NAN, NAN], radius_m=[150.0, NAN, NAN],
        obs_lon=[NAN, *olon], obs_lat=[NAN, *olat], bearing_deg=[NAN, *az],
        bearing_sd_deg=[NAN, 1.0, 1.0], t=[0, 5, 6],
    )  # fmt: skip
    loc = locate(cols, PROJ)
    px, py = PROJ.forward(35.2, 48.1)
    assert (loc.x[0], loc.y[0], loc.r[0]) == (pytest.approx(px), pytest.approx(py), 150.0)
    assert loc.fix[0] == -1 and np.isnan(loc.ellipse[0]).all()
    assert np.hypot(loc.x[1:] - float(tx), loc.y[1:] - float(ty)).max() < 50.0
    assert loc.fix[1] == loc.fix[2] >= 0  # one triangulated fix
    assert (loc.weight_r[1:] > loc.r[1:]).all()  # two rows of one fix weigh as one
    assert np.isfinite(loc.ellipse[1:]).all()
    # an incident resting on that fix alone carries its ellipse; one mixing a point does not
    label = np.array([0, 1, 1])
    ell = ellipses(label, 2, 0, loc)
    assert ell[0] is None and json.loads(ell[1] or "{}")["method"] == "triangulated"
    assert ellipses(np.array([0, 0, 0]), 1, 0, loc) == [None]


def test_reach_is_capped_so_one_vague_report_cannot_chain_a_region() -> None:
    cols = _cols(t=[0, 10], t_unc_s=[5000.0, NAN])
    p = reach_points(cols, [0.0, 1.0], [0.0, 1.0], [9e6, NAN], np.array([1, 2]), 2000.0, 600)
    assert p.r.tolist() == [2000.0, 0.0]
    assert p.tu.tolist() == [600.0, 0.0]


def test_remap_follows_merges_to_their_survivors() -> None:
    keys = np.array([4, 7, 9, 7, 12], np.int64)
    assert remap(keys, {7: 4, 12: 9}).tolist() == [4, 4, 9, 4, 9]
    assert remap(keys, {}) is keys
