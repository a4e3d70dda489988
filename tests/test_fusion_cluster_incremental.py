"""Incremental fusion (pure core): any batch order gives the partition of clustering all
observations at once; merges keep the oldest incident; only points within reach are needed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.fusion.cluster import cluster_xy
from truceline.fusion.incremental import Points, increment, reach

EPS, WIN = 1000.0, 300


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
