"""Conflict search in bulk: which volumes meet which, in footprint, altitude and time.

Two volumes conflict when their footprints intersect (boundary contact counts, planar
in lon/lat: ``shapely.intersects``), their altitude bands overlap and their time
windows overlap (closed intervals: bands or windows that only touch still meet).

The candidate pairs come from a grid join done entirely on arrays: each box is
entered in every lon/lat grid cell it covers, split by duration class (windows whose
length rounds to the same power of two), and sorted by (class, cell, start). A query
box then finds, for each of its cells and each class, the contiguous run of volumes
that start no earlier than its own start minus the class's longest window and no
later than its end, with one ``searchsorted``; a pair met in several cells is kept
only in the cell holding the corner (max x0, max y0) of the two boxes' overlap. Boxes
covering very many cells (a power line across the country) are matched by brute
force instead. Survivors of the exact box test go to ``shapely.intersects``, split
over threads (shapely releases the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["Boxes", "box_pairs", "conflict_pairs", "intersecting"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: bits of a sort key given to the start time (offset from the earliest start)
_TBITS = 34
#: boxes covering more grid cells than this are matched by brute force
_LARGE = 64
#: grid cell size, in median volume extents
_CELL = 3.0
#: pairs per thread below which the exact test stays on one thread
_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class Boxes:
    """The 4D boxes of n volumes: lon/lat bounds, time window and altitude band."""

    x0: FloatArray
    y0: FloatArray
    x1: FloatArray
    y1: FloatArray
    t0: IntArray
    t1: IntArray
    a0: FloatArray
    a1: FloatArray

    @classmethod
    def of(
        cls,
        geoms: Any,
        t0: npt.ArrayLike,
        t1: npt.ArrayLike,
        a0: npt.ArrayLike,
        a1: npt.ArrayLike,
    ) -> Boxes:
        b = shapely.bounds(np.asarray(geoms, dtype=object)).reshape(-1, 4)
        return cls(
            np.ascontiguousarray(b[:, 0]),
            np.ascontiguousarray(b[:, 1]),
            np.ascontiguousarray(b[:, 2]),
            np.ascontiguousarray(b[:, 3]),
            np.asarray(t0, dtype=np.int64),
            np.asarray(t1, dtype=np.int64),
            np.asarray(a0, dtype=np.float64),
            np.asarray(a1, dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.x0)

    def take(self, idx: IntArray) -> Boxes:
        return Boxes(*(getattr(self, f)[idx] for f in self.__slots__))

    def meets(self, i: IntArray, other: Boxes, j: IntArray) -> npt.NDArray[np.bool_]:
        """Whether box i of self and box j of other overlap in every dimension (closed)."""
        return (
            (other.x0[j] <= self.x1[i])
            & (self.x0[i] <= other.x1[j])
            & (other.y0[j] <= self.y1[i])
            & (self.y0[i] <= other.y1[j])
            & (other.t0[j] <= self.t1[i])
            & (self.t0[i] <= other.t1[j])
            & (other.a0[j] <= self.a1[i])
            & (self.a0[i] <= other.a1[j])
        )


@dataclass(frozen=True, slots=True)
class _Grid:
    gx: float
    gy: float
    cell: float
    ny: int
    ncells: int

    def span(self, b: Boxes) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        ix0 = np.floor((b.x0 - self.gx) / self.cell).astype(np.int64)
        iy0 = np.floor((b.y0 - self.gy) / self.cell).astype(np.int64)
        ix1 = np.floor((b.x1 - self.gx) / self.cell).astype(np.int64)
        iy1 = np.floor((b.y1 - self.gy) / self.cell).astype(np.int64)
        return ix0, iy0, ix1 - ix0 + 1, iy1 - iy0 + 1

    def entries(self, b: Boxes, sel: IntArray) -> tuple[IntArray, IntArray]:
        """(box index, cell id) for every cell each selected box covers."""
        ix0, iy0, nx, ny = (a[sel] for a in self.span(b))
        counts = nx * ny
        rep = np.repeat(np.arange(len(sel)), counts)
        k = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
        cx = ix0[rep] + k // ny[rep]
        cy = iy0[rep] + k % ny[rep]
        return sel[rep], cx * self.ny + cy

    def ref_cell(self, q: Boxes, qi: IntArray, v: Boxes, vi: IntArray) -> IntArray:
        cx = np.floor((np.maximum(q.x0[qi], v.x0[vi]) - self.gx) / self.cell).astype(np.int64)
        cy = np.floor((np.maximum(q.y0[qi], v.y0[vi]) - self.gy) / self.cell).astype(np.int64)
        out: IntArray = cx * self.ny + cy
        return out


def _grid(q: Boxes, v: Boxes) -> _Grid:
    gx = float(min(q.x0.min(), v.x0.min()))
    gy = float(min(q.y0.min(), v.y0.min()))
    ext = np.maximum(v.x1 - v.x0, v.y1 - v.y0)
    cell = _CELL * float(np.median(ext)) if len(ext) else 1.0
    wx = float(max(q.x1.max(), v.x1.max())) - gx
    wy = float(max(q.y1.max(), v.y1.max())) - gy
    # keep (duration class, cell) group ids within the sort key's spare bits
    cell = max(cell, 1e-9, np.sqrt((wx + 1e-9) * (wy + 1e-9) / 2**22))
    nx, ny = int(wx / cell) + 2, int(wy / cell) + 2
    return _Grid(gx, gy, cell, ny, nx * ny)


def _expand(lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
    """For ranges [lo, hi): (range index, position) of every element."""
    n = hi - lo
    rep = np.repeat(np.arange(len(lo)), n)
    pos = np.arange(len(rep)) - np.repeat(np.cumsum(n) - n, n) + lo[rep]
    return rep, pos


def _brute(q: Boxes, qsel: IntArray, v: Boxes, vsel: IntArray) -> tuple[IntArray, IntArray]:
    """Every meeting pair of the selected boxes, one box of the smaller side at a time."""
    qi_all, vi_all = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    if len(qsel) <= len(vsel):
        for s in qsel.tolist():
            hit = vsel[q.meets(np.full(len(vsel), s), v, vsel)]
            qi_all.append(np.full(len(hit), s, dtype=np.int64))
            vi_all.append(hit)
    else:
        for s in vsel.tolist():
            hit = qsel[q.meets(qsel, v, np.full(len(qsel), s))]
            qi_all.append(hit)
            vi_all.append(np.full(len(hit), s, dtype=np.int64))
    return np.concatenate(qi_all), np.concatenate(vi_all)


def box_pairs(q: Boxes, v: Boxes) -> tuple[IntArray, IntArray]:
    """Every (query, volume) pair whose 4D boxes meet, each once, unordered."""
    empty = np.zeros(0, np.int64)
    if not len(q) or not len(v):
        return empty, empty
    g = _grid(q, v)
    _, _, vnx, vny = g.span(v)
    _, _, qnx, qny = g.span(q)
    vbig = vnx * vny > _LARGE
    qbig = qnx * qny > _LARGE
    vsmall, qsmall = np.flatnonzero(~vbig), np.flatnonzero(~qbig)
    # duration classes: windows whose length has the same bit length
    dur = v.t1 - v.t0
    vcls = np.floor(np.log2(np.maximum(dur, 1))).astype(np.int64)
    classes, vcls = np.unique(vcls[vsmall], return_inverse=True)
    dmax = np.zeros(len(classes), np.int64)
    np.maximum.at(dmax, vcls, dur[vsmall])
    tmin = int(min(v.t0.min(), q.t0.min()))
    tcap = (1 << _TBITS) - 1
    vbox, vcell = g.entries(v, vsmall)
    vgrp = vcls[np.searchsorted(vsmall, vbox)] * g.ncells + vcell
    keys = (vgrp << _TBITS) | np.minimum(v.t0[vbox] - tmin, tcap)
    order = np.argsort(keys)
    keys = keys[order]
    qbox, qcell = g.entries(q, qsmall)
    qo = np.argsort(qcell)  # needles in order make searchsorted cache-friendly
    qbox, qcell = qbox[qo], qcell[qo]
    qs = q.t0[qbox] - tmin
    qe = np.minimum(q.t1[qbox] - tmin, tcap)
    qi_parts, vi_parts = [], []
    for c in range(len(classes)):
        base = (c * g.ncells + qcell) << _TBITS
        lo = np.searchsorted(keys, base | np.clip(qs - dmax[c], 0, tcap), "left")
        hi = np.searchsorted(keys, base | np.clip(qe, 0, tcap), "right")
        live = np.flatnonzero(hi > lo)
        ent, pos = _expand(lo[live], hi[live])
        qi = qbox[live][ent]
        vi = vbox[order[pos]]
        ok = q.meets(qi, v, vi) & (g.ref_cell(q, qi, v, vi) == qcell[live][ent])
        qi_parts.append(qi[ok])
        vi_parts.append(vi[ok])
    bq, bv = _brute(q, np.flatnonzero(qbig), v, np.arange(len(v)))
    sq, sv = _brute(q, qsmall, v, np.flatnonzero(vbig))
    return np.concatenate([*qi_parts, bq, sq]), np.concatenate([*vi_parts, bv, sv])


def intersecting(a: Any, b: Any, threads: int = 2) -> npt.NDArray[np.bool_]:
    """``shapely.intersects(a, b)`` element-wise, on up to ``threads`` threads.

    One geometry may sit in several pairs; GEOS reads a plain geometry safely from
    several threads, but a prepared one builds its index lazily on first use, so any
    prepared geometry keeps the work on one thread."""
    n = len(a)
    parts = max(1, min(threads, n // _CHUNK))
    if parts > 1 and (shapely.is_prepared(a).any() or shapely.is_prepared(b).any()):
        parts = 1
    if parts == 1:
        return np.asarray(shapely.intersects(a, b), dtype=bool)
    cuts = np.linspace(0, n, parts + 1).astype(np.int64)
    with ThreadPoolExecutor(parts) as ex:
        out = list(
            ex.map(
                lambda k: shapely.intersects(a[cuts[k] : cuts[k + 1]], b[cuts[k] : cuts[k + 1]]),
                range(parts),
            )
        )
    return np.concatenate(out).astype(bool)


def conflict_pairs(
    q: Boxes, qgeom: Any, v: Boxes, vgeom: Any, threads: int = 2
) -> tuple[IntArray, IntArray]:
    """Every (query, volume) pair that meets in footprint, altitude and time, sorted by
    query then volume index."""
    qi, vi = box_pairs(q, v)
    qg, vg = np.asarray(qgeom, dtype=object), np.asarray(vgeom, dtype=object)
    hit = intersecting(qg[qi], vg[vi], threads)
    qi, vi = qi[hit], vi[hit]
    o = np.lexsort((vi, qi))
    return qi[o], vi[o]
