"""Zone boundaries on a grid: which cells each zone's boundary touches, and a
signature of the boundary edges inside each such cell (equal signatures: the same
edges, so zones that share a stretch of boundary can be decided together)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

from truceline.geo.grid import Grid

__all__ = ["boundary_cells"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


def _edges(geoms: npt.NDArray[np.object_]) -> tuple[FloatArray, FloatArray, IntArray]:
    """Boundary edges of polygonal geometries: start points, end points, zone index."""
    parts, pidx = shapely.get_parts(geoms, return_index=True)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    same = cidx[1:] == cidx[:-1]
    zone = pidx[ridx[cidx[:-1][same]]].astype(np.int64)
    return coords[:-1][same], coords[1:][same], zone


def _distinct(a: IntArray) -> IntArray:
    """Sorted distinct values (a plain sort: faster here than ``np.unique``'s hashing)."""
    s = np.sort(a)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _edge_hash(a: FloatArray, b: FloatArray) -> U64:
    """A 64-bit hash of each edge, the same whichever way round it runs."""
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    p = np.where(swap[:, None], b, a)
    q = np.where(swap[:, None], a, b)
    words = np.ascontiguousarray(np.column_stack([p, q])).view(np.uint64)
    h = np.full(len(words), np.uint64(0x9E3779B97F4A7C15))
    for k, mult in enumerate(
        (0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93, 0xA0761D6478BD642F)
    ):
        h ^= words[:, k] * np.uint64(mult)
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xFF51AFD7ED558CCD)
    return h


def boundary_cells(geoms: npt.NDArray[np.object_], grid: Grid) -> tuple[IntArray, U64]:
    """Sorted unique ``zone * ncells + cell`` for every cell a zone boundary touches, and
    for each the XOR of the hashes of that zone's edges touching the cell."""
    a, b, zone = _edges(geoms)
    half = grid.cell / 2.0
    span = np.maximum(np.abs(b[:, 0] - a[:, 0]), np.abs(b[:, 1] - a[:, 1]))
    n = np.maximum(1, np.ceil(span / half)).astype(np.int64)
    e = np.repeat(np.arange(len(n)), n)
    j = np.arange(len(e)) - np.repeat(np.cumsum(n) - n, n)
    t0 = (j / n[e])[:, None]
    t1 = ((j + 1) / n[e])[:, None]
    d = b[e] - a[e]
    p0, p1 = a[e] + t0 * d, a[e] + t1 * d
    eps = grid.cell * 1e-6
    lo = np.floor((np.minimum(p0, p1) - eps - (grid.x0, grid.y0)) / grid.cell).astype(np.int64)
    hi = np.floor((np.maximum(p0, p1) + eps - (grid.x0, grid.y0)) / grid.cell).astype(np.int64)
    top = np.array([grid.ncols - 1, grid.nrows - 1])
    lo, hi = np.clip(lo, 0, top), np.clip(hi, 0, top)
    keys, edge = [], []
    for dc in (0, 1):
        for dr in (0, 1):
            ok = (lo[:, 0] + dc <= hi[:, 0]) & (lo[:, 1] + dr <= hi[:, 1])
            cell = (lo[ok, 1] + dr) * grid.ncols + lo[ok, 0] + dc
            keys.append(zone[e[ok]] * grid.ncells + cell)
            edge.append(e[ok])
    key, eid = np.concatenate(keys), np.concatenate(edge)
    ne = max(len(n), 1)
    if len(key) and int(key.max()) >= (1 << 62) // ne:  # no room to pair keys with edges
        u = _distinct(key)
        return u, np.arange(len(u), dtype=np.uint64) + np.uint64(1)  # all distinct
    both = _distinct(key * ne + eid)  # each (zone, cell, edge) once
    key, eid = both // ne, both % ne
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else key
    sig = (
        np.bitwise_xor.reduceat(_edge_hash(a, b)[eid], first) if len(key) else key.astype(np.uint64)
    )
    return key[first], sig.astype(np.uint64)
