"""The clustering core against a brute-force reference and the bench's own peer."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import BENCH_DIR
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.fusion.cluster import cluster_lonlat, cluster_xy, components, min_labels

AEQD = "+proj=aeqd +lat_0=48.5 +lon_0=35 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"


def brute_force(x, y, t, ids, eps, window, r=None, tu=None):
    """O(n^2) reference: components of the full neighbour matrix by repeated min-propagation."""
    n = len(x)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    thr = eps + (0 if r is None else r[:, None] + r[None, :])
    tthr = window + (0 if tu is None else tu[:, None] + tu[None, :])
    adj = (d <= thr) & (np.abs(t[:, None] - t[None, :]) <= tthr)
    lab = np.asarray(ids, np.int64).copy()
    for _ in range(n):
        new = np.where(adj, lab[None, :], np.iinfo(np.int64).max).min(axis=1)
        if np.array_equal(new, lab):
            break
        lab = new
    return lab


@st.composite
def scenes(draw):
    n = draw(st.integers(1, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    spread = draw(st.sampled_from([3000.0, 10000.0, 40000.0]))
    rng = np.random.default_rng(seed)
    x = rng.normal(0, spread, n).round(draw(st.sampled_from([0, 3])))
    y = rng.normal(0, spread, n).round(0)
    t = rng.integers(0, draw(st.sampled_from([300, 3000, 30000])), n).astype(np.int64)
    ids = rng.permutation(np.arange(1, 10 * n + 1))[:n].astype(np.int64)
    return x, y, t, ids


@settings(max_examples=150, deadline=None)
@given(scenes())
def test_matches_brute_force(scene):
    x, y, t, ids = scene
    got = cluster_xy(x, y, t, ids, eps=2000.0, window=600)
    assert np.array_equal(got, brute_force(x, y, t, ids, 2000.0, 600))


@settings(max_examples=80, deadline=None)
@given(scenes(), st.integers(0, 2**32 - 1))
def test_uncertainties_widen_reach_exactly(scene, seed):
    x, y, t, ids = scene
    rng = np.random.default_rng(seed)
    r = rng.choice([0.0, 250.0, 1500.0], len(x))
    tu = rng.choice([0.0, 30.0, 900.0], len(x))
    got = cluster_xy(x, y, t, ids, eps=1000.0, window=300, r=r, tu=tu)
    assert np.array_equal(got, brute_force(x, y, t, ids, 1000.0, 300, r, tu))


@settings(max_examples=40, deadline=None)
@given(scenes(), st.integers(0, 2**32 - 1))
def test_order_independent(scene, seed):
    x, y, t, ids = scene
    p = np.random.default_rng(seed).permutation(len(x))
    a = cluster_xy(x, y, t, ids, eps=2000.0, window=600)
    b = cluster_xy(x[p], y[p], t[p], ids[p], eps=2000.0, window=600)
    assert np.array_equal(a[p], b)


def test_exact_threshold_is_inclusive():
    x = np.array([0.0, 2000.0, 4000.5])
    y = np.zeros(3)
    t = np.array([0, 600, 1200], np.int64)
    got = cluster_xy(x, y, t, np.array([7, 3, 9]), eps=2000.0, window=600)
    assert got.tolist() == [3, 3, 9]


def test_lonlat_equals_exact_projection_near_threshold():
    """Pairs straddling 2000 m by millimetres: the fast projection must not flip any."""
    import pyproj

    tr = pyproj.Transformer.from_crs("EPSG:4326", AEQD, always_xy=True)
    inv = pyproj.Transformer.from_crs(AEQD, "EPSG:4326", always_xy=True)
    rng = np.random.default_rng(5)
    bx, by = rng.uniform(-300e3, 300e3, 400), rng.uniform(-300e3, 300e3, 400)
    ang = rng.uniform(0, 2 * np.pi, 400)
    dist = 2000.0 + rng.choice([-1e-3, -1e-6, 0.0, 1e-6, 1e-3], 400)
    lon, lat = inv.transform(np.r_[bx, bx + dist * np.cos(ang)], np.r_[by, by + dist * np.sin(ang)])
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    t = np.zeros(800, np.int64) + np.r_[np.arange(400), np.arange(400)] * 10_000
    ids = np.arange(1, 801, dtype=np.int64)
    x, y = tr.transform(lon, lat)
    want = brute_force(np.asarray(x), np.asarray(y), t, ids, 2000.0, 600)
    got = cluster_lonlat(lon, lat, t, ids, eps=2000.0, window=600, crs=AEQD)
    assert np.array_equal(got, want)
    assert 0 < (want != ids).sum() < 800  # both sides of the threshold occur


def test_components_and_labels_on_a_known_graph():
    comp = components(6, np.array([0, 1, 4]), np.array([1, 2, 5]))
    assert min_labels(comp, np.array([30, 20, 10, 40, 60, 50])).tolist() == [10, 10, 10, 40, 50, 50]


def test_empty_input():
    e = np.zeros(0)
    assert len(cluster_xy(e, e, e.astype(np.int64), e.astype(np.int64), eps=1, window=1)) == 0


def test_equals_the_bench_peer_on_bench_like_data():
    """The bench's csgraph peer and our core agree on bench-like lon/lat data."""
    if not (BENCH_DIR / "peers.py").is_file():
        pytest.skip(f"bench harness not found at {BENCH_DIR}")
    sys.path.insert(0, str(BENCH_DIR))
    import common
    import peers

    rng = np.random.default_rng(11)
    n = 4000
    hot = rng.uniform([33.0, 46.5], [38.0, 49.5], (40, 2))
    c = hot[rng.integers(0, 40, n)]
    lon = np.round(c[:, 0] + rng.normal(0, 0.02, n), 6)
    lat = np.round(c[:, 1] + rng.normal(0, 0.015, n), 6)
    t = np.sort(rng.integers(0, 86400 * 3, n)).astype(np.int64)
    ids = np.arange(1, n + 1, dtype=np.int64)
    obs = {"id": ids, "t": t, "lon": lon, "lat": lat}
    want = peers.cluster_csgraph(obs, common.Timer())
    got = cluster_lonlat(lon, lat, t, ids, eps=2000.0, window=600, crs=common.METRIC_CRS)
    assert np.array_equal(got, want)
    assert len(np.unique(want)) < n  # there are real clusters


def test_many_small_chunks_give_the_same_answer(monkeypatch):
    """The chunked pair search must not lose pairs across chunk boundaries."""
    import truceline.fusion.cluster as core

    rng = np.random.default_rng(9)
    n = 400
    x, y = rng.normal(0, 2500, n), rng.normal(0, 2500, n)
    t = rng.integers(0, 2400, n).astype(np.int64)
    ids = np.arange(1, n + 1, dtype=np.int64)
    want = brute_force(x, y, t, ids, 2000.0, 600)
    monkeypatch.setattr(core, "CHUNK_PAIRS", 37)
    assert np.array_equal(cluster_xy(x, y, t, ids, eps=2000.0, window=600), want)
    assert len(np.unique(want)) > 1


def test_lonlat_over_a_continent_falls_back_to_exact_projection():
    import pyproj

    from truceline.fusion import fastproj

    rng = np.random.default_rng(4)
    n = 300
    lon = np.r_[rng.uniform(-60, 60, n // 2), np.full(n // 2, 10.0)]
    lat = np.r_[rng.uniform(-50, 60, n // 2), 40.0 + np.arange(n // 2) * 0.012]
    t = np.zeros(n, np.int64)
    ids = np.arange(1, n + 1, dtype=np.int64)
    fit = fastproj.fit_projection((-60.0, -50.0, 60.0, 60.0), AEQD)
    assert fit.error_m > fastproj.MAX_POLY_ERROR_M  # too wide for the polynomial
    x, y = pyproj.Transformer.from_crs("EPSG:4326", AEQD, always_xy=True).transform(lon, lat)
    want = brute_force(np.asarray(x), np.asarray(y), t, ids, 2000.0, 600)
    got = cluster_lonlat(lon, lat, t, ids, eps=2000.0, window=600, crs=AEQD)
    assert np.array_equal(got, want) and len(np.unique(want)) < n
