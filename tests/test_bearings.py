"""Bearings: triangulation coverage over random layouts, arcs, and rejections."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from truceline.fusion.bearings import Z95, fix_bearings, group_bearings

LAYOUTS = 500


def arc_polygon(
    ox: float, oy: float, az_deg: float, sd_deg: float, rmin: float, rmax: float, n: int = 24
) -> list[tuple[float, float]]:
    """The annular sector (azimuth +- 1.96 sd, ``rmin``..``rmax``) as a closed ring."""
    half = min(Z95 * max(sd_deg, 0.05), 180.0)
    a = np.radians(np.linspace(az_deg - half, az_deg + half, n))
    outer = np.c_[ox + rmax * np.sin(a), oy + rmax * np.cos(a)]
    inner = np.c_[ox + rmin * np.sin(a[::-1]), oy + rmin * np.cos(a[::-1])]
    ring = np.vstack([outer, inner, outer[:1]])
    return [(float(px), float(py)) for px, py in ring]


def _layouts(seed: int, n_obs: int, sd_deg: float, n: int = LAYOUTS):  # type: ignore[no-untyped-def]
    """``n`` events, each seen by ``n_obs`` observers 2-20 km away around a known target."""
    rng = np.random.default_rng(seed)
    tx, ty = rng.uniform(-5e4, 5e4, n), rng.uniform(-5e4, 5e4, n)
    base = rng.uniform(0, 2 * np.pi, n)
    # observers spread over at least 30 degrees as seen from the target
    ang = base[:, None] + np.linspace(0, 1, n_obs)[None, :] * rng.uniform(0.6, 2.5, (n, 1))
    dist = rng.uniform(2000, 20000, (n, n_obs))
    ox, oy = tx[:, None] + dist * np.sin(ang), ty[:, None] + dist * np.cos(ang)
    true_az = np.degrees(np.arctan2(tx[:, None] - ox, ty[:, None] - oy))
    az = true_az + rng.normal(0, sd_deg, (n, n_obs))
    group = np.repeat(np.arange(n), n_obs)
    return tx, ty, ox.ravel(), oy.ravel(), az.ravel(), group


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_obs=st.integers(2, 5),
    sd_deg=st.floats(0.3, 2.5),
)
def test_target_inside_95_ellipse_at_stated_rate(seed: int, n_obs: int, sd_deg: float) -> None:
    tx, ty, ox, oy, az, group = _layouts(seed, n_obs, sd_deg)
    t = np.zeros(ox.size)
    fx = fix_bearings(t, ox, oy, az, np.full(ox.size, sd_deg), group=group)
    first = np.r_[0, np.cumsum(np.full(LAYOUTS, n_obs))[:-1]]
    ok = fx.ok[first]
    assert ok.mean() > 0.97, set(fx.reason[first][~ok])
    inside = fx.contains(np.repeat(tx, n_obs), np.repeat(ty, n_obs))[first][ok]
    assert inside.mean() >= 0.91
    assert np.all(fx.method[first][ok] == "triangulated")
    # every row of a group carries the group's fix
    assert np.allclose(fx.x[ok.repeat(n_obs)].reshape(-1, n_obs).std(axis=1), 0)


def test_exact_bearings_hit_the_target() -> None:
    ox, oy = np.array([0.0, 10000.0, 5000.0]), np.array([0.0, 0.0, -8000.0])
    tx, ty = 4000.0, 6000.0
    az = np.degrees(np.arctan2(tx - ox, ty - oy))
    fx = fix_bearings(np.array([0, 10, 20]), ox, oy, az, np.full(3, 1.0), group=np.zeros(3))
    assert fx.ok.all()
    assert np.allclose(fx.x, tx, atol=1e-6) and np.allclose(fx.y, ty, atol=1e-6)
    assert np.allclose(fx.t, 10.0)
    assert (fx.semi_major_m >= fx.semi_minor_m).all() and (fx.radius_m > 0).all()


def test_parallel_bearings_rejected() -> None:
    fx = fix_bearings(np.zeros(2), [0.0, 1000.0], [0.0, 0.0], [0.0, 0.5], [1.0, 1.0], group=[0, 0])
    assert not fx.ok.any()
    assert "parallel" in fx.reason[0]
    assert np.isnan(fx.x).all()


def test_bearings_pointing_away_rejected() -> None:
    # observers 10 km apart, each looking away from the other: lines cross behind both
    fx = fix_bearings(
        np.zeros(2), [0.0, 10000.0], [0.0, 0.0], [-45.0, 45.0], [1.0, 1.0], group=[7, 7]
    )
    assert not fx.ok.any()
    assert "in front" in fx.reason[0]


def test_inconsistent_bearings_rejected() -> None:
    ox, oy = np.array([0.0, 10000.0, 5000.0]), np.array([0.0, 0.0, -8000.0])
    az = np.degrees(np.arctan2(4000.0 - ox, 6000.0 - oy))
    az[2] += 25.0  # third observer looks well off the target, sd 0.5 deg
    fx = fix_bearings(np.zeros(3), ox, oy, az, np.full(3, 0.5), group=np.zeros(3))
    assert not fx.ok.any()
    assert "inconsistent" in fx.reason[0]


def test_far_intersection_rejected_as_wild() -> None:
    fx = fix_bearings(
        np.zeros(2), [0.0, 5000.0], [0.0, 0.0], [10.0, 5.0], [1.0, 1.0], group=[0, 0],
        max_range_m=30_000,
    )  # fmt: skip
    assert not fx.ok.any()
    assert "farther" in fx.reason[0]


@given(
    az=st.floats(0, 360),
    sd=st.floats(0.1, 20),
    rmin=st.floats(0, 5000),
    width=st.floats(1, 10000),
)
def test_single_bearing_with_range_covers_its_arc(
    az: float, sd: float, rmin: float, width: float
) -> None:
    rmax = rmin + width
    fx = fix_bearings([0], [100.0], [200.0], [az], [sd], [rmin], [rmax])
    assert fx.ok[0] and fx.method[0] == "arc"
    ring = arc_polygon(100.0, 200.0, az, sd, rmin, rmax)
    disc = Point(fx.x[0], fx.y[0]).buffer(fx.radius_m[0] * (1 + 1e-9) + 1e-6, 256)
    assert disc.covers(Polygon(ring).buffer(0)) or Polygon(ring).buffer(0).difference(
        disc
    ).area < 1e-6 * max(Polygon(ring).buffer(0).area, 1.0)
    d = np.hypot(fx.x[0] - 100.0, fx.y[0] - 200.0)
    assert np.isclose(d, (rmin + rmax) / 2)


def test_single_bearing_without_range_not_located() -> None:
    fx = fix_bearings([0, 0], [0.0, 5.0], [0.0, 5.0], [10.0, 20.0], [1.0, 1.0], group=[-1, -1])
    assert not fx.ok.any()
    assert all("without a distance range" in r for r in fx.reason)


def test_missing_azimuth_reported_not_crashing() -> None:
    fx = fix_bearings([0], [0.0], [0.0], [np.nan], [1.0])
    assert not fx.ok[0] and "missing" in fx.reason[0]


def test_group_bearings_links_crossing_rays_only() -> None:
    # event 1 seen from (0,0) and (10000,0); event 2 later; a lone bearing pointing away
    ox = np.array([0.0, 10000.0, 0.0, 10000.0, 50000.0])
    oy = np.zeros(5)
    tgt = [(5000.0, 5000.0), (5000.0, 5000.0), (2000.0, 9000.0), (2000.0, 9000.0), (0, 0)]
    az = np.array(
        [np.degrees(np.arctan2(x - a, y - b)) for (x, y), a, b in zip(tgt, ox, oy, strict=True)]
    )
    az[4] = 90.0  # pointing away east
    t = np.array([0, 5, 3600, 3610, 2])
    g = group_bearings(t, ox, oy, az, window_s=60)
    assert g[0] == g[1] and g[2] == g[3] and g[0] != g[2]
    assert g[4] not in (g[0], g[2])
    fx = fix_bearings(t, ox, oy, az, np.full(5, 1.0), group=g)
    assert fx.ok[:4].all() and not fx.ok[4]
    assert np.allclose([fx.x[0], fx.y[0]], [5000, 5000], atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_events=st.integers(1, 60))
def test_grouping_fixed_arrays_one_bearing_per_observer(seed: int, n_events: int) -> None:
    rng = np.random.default_rng(seed)
    arrays = np.c_[rng.uniform(-4e4, 4e4, 6), rng.uniform(-5e3, 5e3, 6)]
    tx, ty = rng.uniform(-4e4, 4e4, n_events), rng.uniform(-5e3, 5e3, n_events)
    t_ev = rng.uniform(0, 3600, n_events)
    ev, arr = np.meshgrid(np.arange(n_events), np.arange(6), indexing="ij")
    ev, arr = ev.ravel(), arr.ravel()
    ox, oy = arrays[arr, 0], arrays[arr, 1]
    az = np.degrees(np.arctan2(tx[ev] - ox, ty[ev] - oy)) + rng.normal(0, 1, ev.size)
    t = t_ev[ev] + rng.normal(0, 2, ev.size)
    g = group_bearings(t, ox, oy, az, window_s=30)
    for k in np.unique(g):
        assert len(set(arr[g == k])) == (g == k).sum()  # one bearing per observer
    fx = fix_bearings(t, ox, oy, az, np.ones(ev.size), group=g)
    assert not (fx.ok & ~np.isfinite(fx.x)).any()
    # a fix never lies behind one of its observers
    ahead = (fx.x - ox) * np.sin(np.radians(az)) + (fx.y - oy) * np.cos(np.radians(az))
    assert (ahead[fx.ok & (fx.method == "triangulated")] > 0).all()


def test_missing_sd_takes_the_default() -> None:
    ox, oy = np.array([0.0, 10000.0]), np.array([0.0, 0.0])
    az = np.degrees(np.arctan2(4000.0 - ox, 6000.0 - oy))
    fx = fix_bearings([0, 0], ox, oy, az, [np.nan, np.nan], group=[0, 0])
    ref = fix_bearings([0, 0], ox, oy, az, [2.0, 2.0], group=[0, 0])
    assert fx.ok.all() and np.allclose(fx.semi_major_m, ref.semi_major_m)
