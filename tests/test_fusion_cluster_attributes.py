"""Fused incident values from member observations (pure core)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.fusion.attributes import fuse_attributes


def _fuse(labels, x, y, r, t, kinds, weapons, count, tu=None):
    n = int(max(labels)) + 1
    return fuse_attributes(
        np.asarray(labels), n, np.asarray(x, float), np.asarray(y, float),
        np.asarray(r, float), np.asarray(t, np.int64),
        np.zeros(len(t)) if tu is None else np.asarray(tu, float),
        np.asarray(kinds, object), np.asarray(weapons, object), np.asarray(count),
    )  # fmt: skip


def test_inverse_variance_centre_kind_weapon_count_and_time():
    f = _fuse(
        [0, 0, 0, 1],
        [0.0, 100.0, 0.0, 5e4],
        [0.0, 0.0, 0.0, 0.0],
        [100.0, 100.0, 1e6, 300.0],
        [10, 40, 1000, 5],
        ["burst", "explosion", "denial", "denial"],
        ["tank", "mlrs", None, None],
        [2, 5, 1, 1],
        tu=[0, 0, 30, 0],
    )
    assert abs(f.x[0] - 50.0) < 1e-3  # the 1000 km-vague report barely moves it
    assert f.radius_m[0] >= 50.0  # members 100 m apart: never tighter than their spread
    assert f.kind.tolist() == ["explosion", "denial"]  # tie -> specific; denial only if alone
    assert f.weapon_class.tolist() == ["mlrs", None]  # tie -> heaviest
    assert f.count.tolist() == [5, 1] and f.n_observations.tolist() == [3, 1]
    assert f.t.tolist() == [40, 5] and f.t_start[0] == 10 and f.t_end[0] == 1030


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_radius_covers_every_member_point_and_shrinks_only_with_agreement(n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(0, 500, n), rng.normal(0, 500, n)
    r = rng.uniform(50, 2000, n)
    f = _fuse(np.zeros(n, np.int64), x, y, r, np.zeros(n), ["shot"] * n, [None] * n, np.ones(n))
    d = np.hypot(x - f.x[0], y - f.y[0])
    assert (d <= f.radius_m[0] + 1e-6).all()
    assert f.radius_m[0] <= max(r.max(), d.max()) + 1e-6
    assert min(x) - 1e-6 <= f.x[0] <= max(x) + 1e-6
