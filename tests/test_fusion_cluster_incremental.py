"""Incremental fusion (pure core): any batch order gives the partition of clustering all
observations at once; merges keep the oldest incident; only points within reach are needed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from truceline.fusion.cluster import cluster_xy
from truceline.fusion.incremental import Points, increment, reach
from truceline.geo.geodesy import aeqd_error_bound, degrees_per_metre, distance_m
from truceline.geo.projection import Projector

EPS, WIN = 1000.0, 300
EPS_GEO, WIN_GEO = 2000.0, 600


class Store:
    """An in-memory store: observation -> incident, incident ids in creation order."""

    def __init__(self, x, y, t, r, tu):
        self.x, self.y, self.t, self.r, self.tu = x, y, t, r, tu
        self.incident = np.zeros(len(x), np.int64)  # 0 = not fused
        self.next_id = 1
        self.merges: list[tuple[int, int]] = []

    def fuse(self, batch):
        batch = np.asarray(batch, np.int64)
        fused = np.flatnonzero(self.incident > 0)
        dist, dt = reach(EPS, WIN, float(self.r.max()), float(self.tu.max()))
        near = [  # what a store query would return: old points within reach of a new one
            k for k in fused
            if (np.abs(self.t[batch] - self.t[k]) <= dt).any()
            and (np.hypot(self.x[batch] - self.x[k], self.y[batch] - self.y[k]) <= dist).any()
        ]  # fmt: skip
        near = np.asarray(near, np.int64)

        def pts(idx, key):
            return Points(self.x[idx], self.y[idx], self.t[idx], self.r[idx], self.tu[idx], key)

        inc = increment(pts(near, self.incident[near]), pts(batch, batch), eps=EPS, window=WIN)
        ids = {-(k + 1): self.next_id + k for k in range(inc.n_new)}
        self.next_id += inc.n_new
        self.incident[batch] = [ids.get(int(k), int(k)) for k in inc.incident]
        for a, s in inc.merged.items():
            self.incident[self.incident == a] = s
            self.merges.append((a, s))

    def partition(self):
        return {frozenset(np.flatnonzero(self.incident == k).tolist()) for k in set(self.incident)}


@st.composite
def worlds(draw):
    n = draw(st.integers(2, 50))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.uniform(0, draw(st.sampled_from([3000.0, 12000.0])), n)
    y = rng.uniform(0, 4000.0, n)
    t = rng.integers(0, draw(st.sampled_from([900, 5000])), n).astype(np.int64)
    r = rng.choice([0.0, 100.0, 600.0], n)
    tu = rng.choice([0.0, 20.0, 200.0], n)
    k = draw(st.integers(1, min(n, 6)))
    cuts = np.sort(rng.choice(np.arange(1, n), k - 1, replace=False)) if k > 1 else []
    batches = np.split(rng.permutation(n), cuts)
    orders = [rng.permutation(k) for _ in range(2)]
    return (x, y, t, r, tu), batches, orders


@settings(max_examples=120, deadline=None)
@given(worlds())
def test_any_batch_order_gives_the_all_at_once_partition(world):
    cols, batches, orders = world
    ids = np.arange(len(cols[0]), dtype=np.int64)
    labels = cluster_xy(cols[0], cols[1], cols[2], ids, eps=EPS, window=WIN, r=cols[3], tu=cols[4])
    want = {frozenset(np.flatnonzero(labels == v).tolist()) for v in set(labels)}
    for order in orders:
        store = Store(*cols)
        for b in order:
            store.fuse(batches[b])
        assert (store.incident > 0).all()
        assert store.partition() == want
        assert all(s < a for a, s in store.merges)  # the oldest (smallest) id survives
        live = set(store.incident.tolist())
        assert not live & {a for a, _ in store.merges}


def test_a_bridge_merges_two_incidents_into_the_oldest():
    x = np.array([0.0, 1800.0, 900.0])
    z = np.zeros(3)
    t = np.zeros(3, np.int64)
    old = Points(x[:2], z[:2], t[:2], z[:2], z[:2], np.array([7, 4]))
    new = Points(x[2:], z[2:], t[2:], z[2:], z[2:], np.array([99]))
    inc = increment(old, new, eps=EPS, window=WIN)
    assert inc.incident.tolist() == [4] and inc.merged == {7: 4} and inc.touched == [4]
    lone = increment(old, Points(x[2:] + 5e4, z[2:], t[2:], z[2:], z[2:], np.array([5])),
                     eps=EPS, window=WIN)  # fmt: skip
    assert lone.incident.tolist() == [-1] and lone.n_new == 1 and not lone.merged


def _geo_world(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """``n`` reports of events over the bench's region and 10 days (a few reports per
    event, within their 95 % radius), plus pairs planted within a metre of their
    threshold far from the first batch's projection centre."""
    rng = np.random.default_rng(seed)
    events = n // 4
    elon, elat = rng.uniform(31.0, 40.0, events), rng.uniform(46.0, 50.5, events)
    et = rng.integers(0, 10 * 86_400, events)
    k = rng.integers(0, events, n)
    dlon, dlat = degrees_per_metre(elat[k])
    ang, dist = rng.uniform(0, 2 * np.pi, n), rng.exponential(700.0, n)
    lon = elon[k] + dist * np.sin(ang) * dlon
    lat = elat[k] + dist * np.cos(ang) * dlat
    t = et[k] + rng.integers(-200, 200, n)
    r = rng.choice([0.0, 50.0, 500.0], n)
    # planted pairs: 2 km (+ radii) apart, within 0.5 m either side, east of 39 degrees
    m = 400
    plon, plat = rng.uniform(39.0, 40.0, m), rng.uniform(46.0, 50.5, m)
    pt = rng.integers(0, 10 * 86_400, m)
    az = rng.uniform(0, 360, m)
    off = EPS_GEO + rng.uniform(-0.5, 0.5, m)
    qlon, qlat, _ = Geod(ellps="WGS84").fwd(plon, plat, az, off)
    lon, lat = np.concatenate([lon, plon, qlon]), np.concatenate([lat, plat, qlat])
    t = np.concatenate([t, pt, pt]).astype(np.int64)
    r = np.concatenate([r, np.zeros(2 * m)])
    return lon, lat, t, r


def _fuse_in_batches(lon, lat, t, r, batches, *, geodesic):
    """What ``service.fusion`` does: the projection is fixed by the first batch (its
    centre, rounded to whole degrees); each batch meets every fused observation."""
    first = batches[0]
    lat0 = float(np.round((lat[first].min() + lat[first].max()) / 2))
    lon0 = float(np.round((lon[first].min() + lon[first].max()) / 2))
    x, y = Projector(lat0, lon0).forward(lon, lat)
    key = np.zeros(len(lon), np.int64)
    next_id = 1
    for b in batches:
        old = np.flatnonzero(key > 0)
        both = np.concatenate([old, b])
        z = np.zeros(len(both))
        pts = Points(x[both], y[both], t[both], r[both], z, np.concatenate([key[old], b]))
        o, nw = _split(pts, len(old))
        extra = (
            _geodesic(lon[both], lat[both], EPS_GEO + 2 * r.max(), lon0, lat0) if geodesic else {}
        )
        inc = increment(o, nw, eps=EPS_GEO, window=WIN_GEO, **extra)
        ids = {-(k + 1): next_id + k for k in range(inc.n_new)}
        next_id += inc.n_new
        key[b] = [ids.get(int(k), int(k)) for k in inc.incident]
        for a, s in inc.merged.items():
            key[key == a] = s
    _, canon = np.unique(key, return_inverse=True)
    first_member = np.full(canon.max() + 1, len(key))
    np.minimum.at(first_member, canon, np.arange(len(key)))
    return first_member[canon]


def _geodesic(lon, lat, longest, lon0, lat0):
    def distance(a, b):
        return distance_m(lon[a], lat[a], lon[b], lat[b])

    return {"distance": distance, "margin": aeqd_error_bound(longest, lon, lat, lon0, lat0)}


def _split(p: Points, n_old: int) -> tuple[Points, Points]:
    fields = ("x", "y", "t", "r", "tu", "key")
    return (
        Points(*(getattr(p, f)[:n_old] for f in fields)),
        Points(*(getattr(p, f)[n_old:] for f in fields)),
    )


def test_batches_of_real_size_give_the_one_pass_partition_whatever_the_projection() -> None:
    """60,000 reports fused as 36,000 then 24,000 (the first batch's projection centre
    two degrees from the whole's) group exactly as in one pass: pairs near their
    threshold are settled by geodesic distance, not by the projection of the moment."""
    lon, lat, t, r = _geo_world(60_000, seed=3)
    west = np.argsort(lon, kind="stable")
    split = [np.sort(west[:36_000]), np.sort(west[36_000:])]
    everything = [np.arange(len(lon))]
    one = _fuse_in_batches(lon, lat, t, r, everything, geodesic=True)
    two = _fuse_in_batches(lon, lat, t, r, split, geodesic=True)
    assert (one == two).all()
    # the planted pairs do fall on different sides of the threshold in the two projections
    one_p = _fuse_in_batches(lon, lat, t, r, everything, geodesic=False)
    two_p = _fuse_in_batches(lon, lat, t, r, split, geodesic=False)
    assert (one_p != two_p).any()


@settings(max_examples=5, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 4))
def test_random_batch_splits_of_real_size_give_the_one_pass_partition(seed, k) -> None:
    lon, lat, t, r = _geo_world(20_000, seed=seed)
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, len(lon)), k - 1, replace=False))
    batches = [np.sort(b) for b in np.split(rng.permutation(len(lon)), cuts)]
    one = _fuse_in_batches(lon, lat, t, r, [np.arange(len(lon))], geodesic=True)
    assert (_fuse_in_batches(lon, lat, t, r, batches, geodesic=True) == one).all()
