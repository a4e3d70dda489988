"""Space-time clustering of observations into incidents (pure core, columns in and out).

Two observations are neighbours when their projected distance is at most
``eps`` (plus both location uncertainties ``r``, if given) and their times
differ by at most ``window`` seconds (plus both time uncertainties ``tu``).
Incidents are the connected components of that neighbour graph: ST-DBSCAN with
``min_samples=2``, where every point with a neighbour is a core point, so the
result does not depend on the order of the input. A component is labelled by
the smallest id among its members; a point without neighbours by its own id.

The neighbour search hashes points into space-time cells (``eps`` wide, one
``window`` long), sorts the cell keys once and, for each cell, looks up half of
its neighbourhood (the cell itself forward, four of the eight spatial
neighbours over three time buckets), so every pair is produced once. Candidate
pairs are generated and filtered in chunks of bounded size, so memory stays
flat however dense a hotspot is; the surviving edges go to scipy's connected
components. Pairs whose distance lies within a rounding margin of the
threshold are settled with exact coordinates (``np.hypot``), which lets the
coordinates come from the fast polynomial projection of ``fusion.fastproj``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from truceline.domain.errors import InputError
from truceline.fusion import fastproj

__all__ = [
    "cluster_lonlat",
    "cluster_xy",
    "components",
    "min_labels",
    "neighbour_pairs",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Pairs = tuple[I64, I64, NDArray[np.bool_]]
#: candidate pairs examined per chunk (bounds the working memory to ~60 MB)
CHUNK_PAIRS = 1_000_000
_HALF = ((1, -1), (1, 0), (1, 1), (0, 1))  # spatial half-neighbourhood besides the cell


def _cell_keys(x: F64, y: F64, t: I64, cell: float, bucket: int) -> tuple[I64, int, int]:
    """Key of each point's space-time cell; returns (keys, x step, y step)."""
    cx = np.floor((x - x.min()) / cell).astype(np.int64)
    cy = np.floor((y - y.min()) / cell).astype(np.int64)
    b = (t - t.min()) // bucket
    ny, nb = int(cy.max()) + 3, int(b.max()) + 3
    if (int(cx.max()) + 3) * ny * nb >= 2**62:
        raise InputError("clustering: space-time extent too large for the cell size")
    cx += 1
    cx *= ny
    cx += cy
    cx += 1
    cx *= nb
    cx += b
    cx += 1
    return cx, ny * nb, nb


def _key_ranges(sk: I64, steps: tuple[int, int]) -> tuple[I64, I64, I64, I64]:
    """Per distinct key: start, and (lo, hi) position ranges of the 5 half-neighbourhoods."""
    n = len(sk)
    brk = np.flatnonzero(sk[1:] != sk[:-1]) + 1
    starts = np.concatenate([[0], brk])
    keys = sk[starts]
    ext = np.concatenate([starts, [n]])
    lo = np.empty((len(keys), 5), np.int64)
    hi = np.empty((len(keys), 5), np.int64)
    lo[:, 0] = starts  # replaced per point by its own position + 1
    hi[:, 0] = ext[np.searchsorted(keys, keys + 1, "right")]
    for k, (dx, dy) in enumerate(_HALF, start=1):
        off = dx * steps[0] + dy * steps[1]
        lo[:, k] = ext[np.searchsorted(keys, keys + (off - 1), "left")]
        hi[:, k] = ext[np.searchsorted(keys, keys + (off + 1), "right")]
    kidx = np.zeros(n, np.int64)
    kidx[brk] = 1
    np.cumsum(kidx, out=kidx)
    return kidx, starts, lo, hi


def _chunks(kidx: I64, starts: I64, lo: I64, hi: I64) -> list[int]:
    """Chunk boundaries (sorted positions) keeping each chunk near CHUNK_PAIRS candidates."""
    bound = (hi[:, 1:] - lo[:, 1:]).sum(axis=1) + (hi[:, 0] - starts)
    cum = np.cumsum(bound[kidx])
    cuts = np.searchsorted(cum, np.arange(CHUNK_PAIRS, int(cum[-1]), CHUNK_PAIRS), "right")
    return sorted({0, *(int(c) for c in cuts if c > 0), len(kidx)})


def _expand(s: int, e: int, kidx: I64, lo: I64, hi: I64) -> tuple[I64, I64]:
    """All candidate pairs (i, j) with i in [s, e) from the key ranges."""
    k = kidx[s:e]
    lo_c, hi_c = lo[k], hi[k]
    lo_c[:, 0] = np.arange(s + 1, e + 1)
    cnt = hi_c - lo_c
    np.maximum(cnt, 0, out=cnt)
    flat, first = cnt.ravel(), lo_c.ravel()
    total = int(flat.sum())
    j = np.arange(total, dtype=np.int64)
    j -= np.repeat(np.cumsum(flat) - flat - first, flat)
    i = np.repeat(np.arange(s, e, dtype=np.int64), cnt.sum(axis=1))
    return i, j


def neighbour_pairs(
    x: F64,
    y: F64,
    t: I64,
    *,
    eps: float,
    window: float,
    r: F64 | None = None,
    tu: F64 | None = None,
    margin: float = 0.0,
) -> tuple[I64, Pairs]:
    """Neighbour pairs, in positions of the cell order.

    Returns ``(order, (i, j, unsure))``: ``order`` sorts the input by cell key;
    ``i < j`` index into that order; ``unsure`` flags pairs whose distance is
    within ``margin`` (plus a rounding allowance) of their threshold, which the
    caller settles with exact coordinates.
    """
    n = len(x)
    if n == 0:
        z = np.zeros(0, np.int64)
        return z, (z, z, np.zeros(0, bool))
    t = np.asarray(t, np.int64)
    rmax = float(r.max()) if r is not None else 0.0
    tumax = float(tu.max()) if tu is not None else 0.0
    cell = max(eps + 2.0 * rmax + 2.0 * margin, 1e-3)
    bucket = max(int(np.ceil(window + 2.0 * tumax)), 1)
    key, step_x, step_y = _cell_keys(x, y, t, cell, bucket)
    order = np.argsort(key)
    sk = key[order]
    del key
    kidx, starts, lo, hi = _key_ranges(sk, (step_x, step_y))
    xs, ys, ts = x[order], y[order], t[order]
    rs = r[order] if r is not None else None
    tus = tu[order] if tu is not None else None
    out_i, out_j, out_u = [], [], []
    bounds = _chunks(kidx, starts, lo, hi)
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        i, j = _expand(s, e, kidx, lo, hi)
        keep, unsure = _filter(i, j, xs, ys, ts, rs, tus, eps, window, margin)
        out_i.append(i[keep])
        out_j.append(j[keep])
        out_u.append(unsure[keep])
    return order, (np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_u))


def _filter(
    i: I64,
    j: I64,
    xs: F64,
    ys: F64,
    ts: I64,
    rs: F64 | None,
    tus: F64 | None,
    eps: float,
    window: float,
    margin: float,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    dt = ts[j]
    dt -= ts[i]
    np.abs(dt, out=dt)
    keep = dt <= (window if tus is None else window + tus[i] + tus[j])
    dx = xs[j]
    dx -= xs[i]
    dx *= dx
    dy = ys[j]
    dy -= ys[i]
    dy *= dy
    dx += dy
    thr: F64 | float = eps if rs is None else eps + rs[i] + rs[j]
    slack = margin + 1e-9 * (eps + 1.0)
    hi2 = np.square(np.add(thr, slack))
    lo2 = np.square(np.maximum(np.subtract(thr, slack), 0.0))
    keep &= dx <= hi2
    unsure = dx > lo2
    return keep, unsure


def components(n: int, i: I64, j: I64) -> NDArray[np.int32]:
    """Connected-component index of each of ``n`` nodes for undirected edges (i, j)."""
    if len(i) and np.all(i[1:] >= i[:-1]):
        indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(i, minlength=n), out=indptr[1:])
        data = np.ones(len(i), np.int8)
        g = csr_matrix((data, j.astype(np.int32), indptr.astype(np.int32)), shape=(n, n))
    else:
        data = np.ones(len(i), np.int8)
        g = csr_matrix((data, (i.astype(np.int32), j.astype(np.int32))), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    return np.asarray(comp, np.int32)


def min_labels(comp: NDArray[np.int32], ids: I64) -> I64:
    """Label of each node: the smallest id in its component."""
    if len(comp) == 0:
        return np.zeros(0, np.int64)
    mins = np.full(int(comp.max()) + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(mins, comp, ids)
    return mins[comp]


def _cluster(
    n: int,
    ids: I64,
    order: I64,
    pairs: Pairs,
    exact: Callable[[I64], tuple[F64, F64]],
    thr: Callable[[I64, I64], F64],
) -> I64:
    i, j, unsure = pairs
    if unsure.any():
        u = np.flatnonzero(unsure)
        pts, inv = np.unique(np.concatenate([order[i[u]], order[j[u]]]), return_inverse=True)
        ex, ey = exact(pts)
        a, b = inv[: len(u)], inv[len(u) :]
        ok = np.hypot(ex[a] - ex[b], ey[a] - ey[b]) <= thr(order[i[u]], order[j[u]])
        drop = u[~ok]
        if len(drop):
            keep = np.ones(len(i), bool)
            keep[drop] = False
            i, j = i[keep], j[keep]
    comp = components(n, i, j)
    labels = np.empty(n, np.int64)
    labels[order] = min_labels(comp, np.asarray(ids, np.int64)[order])
    return labels


def _threshold(eps: float, r: F64 | None) -> Callable[[I64, I64], F64]:
    def thr(a: I64, b: I64) -> F64:
        if r is None:
            return np.full(len(a), eps)
        return eps + r[a] + r[b]

    return thr


def cluster_xy(
    x: F64,
    y: F64,
    t: I64,
    ids: I64,
    *,
    eps: float,
    window: float,
    r: F64 | None = None,
    tu: F64 | None = None,
) -> I64:
    """Incident label (smallest member id) of each point, from metric coordinates."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    order, pairs = neighbour_pairs(x, y, t, eps=eps, window=window, r=r, tu=tu)
    return _cluster(len(x), ids, order, pairs, lambda p: (x[p], y[p]), _threshold(eps, r))


def cluster_lonlat(
    lon: F64,
    lat: F64,
    t: I64,
    ids: I64,
    *,
    eps: float,
    window: float,
    crs: str,
    r: F64 | None = None,
    tu: F64 | None = None,
) -> I64:
    """As :func:`cluster_xy`, distances measured in ``crs`` (a metric PROJ string).

    Identical to projecting every point with PROJ: coordinates come from the fitted
    polynomial, and pairs within its error bound of the threshold are re-measured
    with PROJ coordinates.
    """
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if len(lon) == 0:
        return np.zeros(0, np.int64)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise InputError("clustering: every observation needs a finite lon/lat")
    bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    poly = fastproj.fit_projection(bounds, crs)
    if poly.error_m <= fastproj.MAX_POLY_ERROR_M:
        x, y = fastproj.project(poly, lon, lat)
        margin = 2.0 * poly.error_m * np.sqrt(2.0)
    else:
        x, y = fastproj.exact_forward(lon, lat, crs)
        margin = 0.0
    order, pairs = neighbour_pairs(x, y, t, eps=eps, window=window, r=r, tu=tu, margin=margin)

    def exact(p: I64) -> tuple[F64, F64]:
        return fastproj.exact_forward(lon[p], lat[p], crs)

    return _cluster(len(lon), ids, order, pairs, exact, _threshold(eps, r))
