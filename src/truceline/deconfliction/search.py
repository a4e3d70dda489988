"""Conflict search in bulk: which volumes meet which, in footprint, altitude and time.

Two volumes conflict when their footprints intersect (boundary contact counts, planar
in lon/lat: ``shapely.intersects``), their altitude bands overlap and their time
windows overlap (closed intervals: bands or windows that only touch still meet).

The candidate pairs come from a grid join done entirely on arrays: each box is
entered in every lon/lat grid cell it covers, split by duration class (windows whose
length has the same bit length), and sorted by (class, cell, start). A query box then
finds, for each of its cells and each class, the contiguous run of volumes that start
no earlier than its own start minus the class's longest window and no later than its
end: one ``searchsorted`` over all its cells and classes at once. The exact 4D box
test runs on those runs; a pair met in several cells is kept only in the cell holding
the corner (max x0, max y0) of the two boxes' overlap. Boxes covering very many cells
(a power line across the country) are matched by brute force instead. Survivors go to
``shapely.intersects`` with the query's footprint prepared. Both steps are shared out
over threads (numpy and GEOS release the GIL): the box pairs by duration class, the
exact test by query, so that each prepared footprint is used by one thread only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

__all__ = ["Boxes", "conflict_pairs"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: most bits of a sort key given to the start time (offset from the earliest start)
_TBITS = 34
#: pairs per thread below which the exact test stays on one thread
_CHUNK = 5_000
#: bits of a sort key given to the grid cell
_CBITS = 22
#: boxes covering more grid cells than this are matched by brute force
_LARGE = 64
#: grid cell size, in median volume extents
_CELL = 3.0


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
        return cls(  # the bounds as views of one array: no copies
            b[:, 0],
            b[:, 1],
            b[:, 2],
            b[:, 3],
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


def _order(keys: IntArray) -> IntArray:
    """``np.argsort`` of non-negative int64 keys, by ``np.lexsort`` on their 16-bit digits:
    numpy radix-sorts 16-bit keys, several times faster than it sorts 64-bit ones."""
    top = max(1, int(keys.max(initial=0)).bit_length())
    return np.lexsort([(keys >> s & 0xFFFF).astype(np.uint16) for s in range(0, top, 16)])


@dataclass(frozen=True, slots=True)
class _Clock:
    """Start times in sort keys: offsets from ``tmin`` capped to ``cap`` (``bits`` bits,
    enough for every volume's start unless the span exceeds ``_TBITS`` bits)."""

    tmin: int
    bits: int

    @property
    def cap(self) -> int:
        return (1 << self.bits) - 1

    @classmethod
    def of(cls, q: Boxes, v: Boxes) -> _Clock:
        tmin = int(min(v.t0.min(), q.t0.min()))
        return cls(tmin, min(_TBITS, max(1, (int(v.t0.max()) - tmin).bit_length())))


@dataclass(frozen=True, slots=True)
class _Grid:
    gx: float
    gy: float
    cell: float
    ny: int
    ncells: int

    def span(self, b: Boxes) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """First column and row of each box, and how many columns and rows it covers."""
        ix0 = np.floor((b.x0 - self.gx) / self.cell).astype(np.int64)
        iy0 = np.floor((b.y0 - self.gy) / self.cell).astype(np.int64)
        ix1 = np.floor((b.x1 - self.gx) / self.cell).astype(np.int64)
        iy1 = np.floor((b.y1 - self.gy) / self.cell).astype(np.int64)
        return ix0, iy0, ix1 - ix0 + 1, iy1 - iy0 + 1

    def entries(
        self, span: tuple[IntArray, IntArray, IntArray, IntArray], sel: IntArray
    ) -> tuple[IntArray, IntArray, npt.NDArray[np.uint8]]:
        """(box index, cell id, flags) for every cell each selected box covers; flag bit 0:
        the box's first column, bit 1: its first row. One pass per (column, row) offset:
        boxes cover few cells, and a ``repeat`` with a division per entry costs more."""
        ix0, iy0, nx, ny = (a[sel] for a in span)
        first = ix0 * self.ny + iy0
        box, cell, flag = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.uint8)]
        for dx in range(int(nx.max(initial=0))):
            col = np.flatnonzero(nx > dx)
            for dy in range(int(ny[col].max(initial=0))):
                at = col[ny[col] > dy]
                box.append(sel[at])
                cell.append(first[at] + (dx * self.ny + dy))
                flag.append(np.full(len(at), (dx == 0) | (dy == 0) << 1, np.uint8))
        return np.concatenate(box), np.concatenate(cell), np.concatenate(flag)


def _grid(q: Boxes, v: Boxes) -> _Grid:
    gx = float(min(q.x0.min(), v.x0.min()))
    gy = float(min(q.y0.min(), v.y0.min()))
    step = max(1, len(v) // 4096)  # the median extent of a sample sets the cell size
    ext = np.maximum(v.x1[::step] - v.x0[::step], v.y1[::step] - v.y0[::step])
    mid = len(ext) // 2  # np.partition: np.median's first call costs tens of milliseconds
    cell = _CELL * float(np.partition(ext, mid)[mid]) if len(ext) else 1.0
    wx = float(max(q.x1.max(), v.x1.max())) - gx
    wy = float(max(q.y1.max(), v.y1.max())) - gy
    # keep (duration class, cell) group ids within the sort key's spare bits
    cell = max(cell, 1e-9, np.sqrt((wx + 1e-9) * (wy + 1e-9) / 2**_CBITS))
    nx, ny = int(wx / cell) + 2, int(wy / cell) + 2
    return _Grid(gx, gy, cell, ny, nx * ny)


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


Task = Callable[[], tuple[IntArray, IntArray]]


def _box_tasks(q: Boxes, v: Boxes, parts: int) -> list[Task]:
    """Up to ``parts`` independent jobs that together give every (query, volume) pair
    whose 4D boxes meet, each pair once: the volumes' duration classes are shared out
    so that each job indexes about as many grid entries."""
    empty = np.zeros(0, np.int64)
    if not len(q) or not len(v):
        return [lambda: (empty, empty)]
    g = _grid(q, v)
    vspan, qspan = g.span(v), g.span(q)
    vbig = vspan[2] * vspan[3] > _LARGE
    qbig = qspan[2] * qspan[3] > _LARGE
    vsmall, qsmall = np.flatnonzero(~vbig), np.flatnonzero(~qbig)

    def brute() -> tuple[IntArray, IntArray]:
        bq, bv = _brute(q, np.flatnonzero(qbig), v, np.arange(len(v)))
        sq, sv = _brute(q, qsmall, v, np.flatnonzero(vbig))
        return np.concatenate([bq, sq]), np.concatenate([bv, sv])

    if not len(vsmall) or not len(qsmall):
        return [brute]
    clock = _Clock.of(q, v)
    dur = v.t1 - v.t0
    vcls = np.floor(np.log2(np.maximum(dur, 1))).astype(np.int64)  # duration class
    weight = np.bincount(vcls[vsmall], (vspan[2] * vspan[3])[vsmall], minlength=64)
    share = np.zeros(max(1, parts))
    job = np.zeros(64, np.int64)
    for c in np.argsort(-weight, kind="stable")[: np.count_nonzero(weight)].tolist():
        job[c] = int(np.argmin(share))
        share[job[c]] += weight[c]
    qside = _QueryCells.of(q, qspan, qsmall, g, clock)
    vnum = np.column_stack([v.x0, v.y0, v.x1, v.y1, v.a0, v.a1])
    tasks: list[Task] = []
    for k in range(len(share)):
        sel = vsmall[job[vcls[vsmall]] == k]
        if len(sel):
            tasks.append(partial(_grid_pairs, qside, v, vnum, vspan, sel, vcls, g, clock))
    return [*tasks, brute]


@dataclass(frozen=True, slots=True)
class _QueryCells:
    """The queries' grid entries sorted by (cell, start), so that the needles searched
    for come out in order; their start and end as offsets from ``clock.tmin``, the end
    capped as the volumes' starts are."""

    q: Boxes
    box: IntArray
    cell: IntArray
    flag: npt.NDArray[np.uint8]
    start: IntArray
    end: IntArray
    num: FloatArray  # per entry: its box's x0, y0, x1, y1, a0, a1

    @classmethod
    def of(
        cls,
        q: Boxes,
        span: tuple[IntArray, IntArray, IntArray, IntArray],
        sel: IntArray,
        g: _Grid,
        clock: _Clock,
    ) -> _QueryCells:
        box, cell, flag = g.entries(span, sel)
        start = q.t0[box] - clock.tmin
        o = _order((cell << clock.bits) | np.minimum(start, clock.cap))
        box = box[o]
        end = np.minimum(q.t1[box] - clock.tmin, clock.cap)
        num = np.column_stack([q.x0, q.y0, q.x1, q.y1, q.a0, q.a1])[box]
        return cls(q, box, cell[o], flag[o], start[o], end, num)


def _grid_pairs(
    qc: _QueryCells,
    v: Boxes,
    vnum: FloatArray,
    vspan: tuple[IntArray, IntArray, IntArray, IntArray],
    vsel: IntArray,
    vcls: IntArray,
    g: _Grid,
    clock: _Clock,
) -> tuple[IntArray, IntArray]:
    """The meeting pairs of the queries with the selected volumes, by the grid join
    (``vnum``: the volumes' x0, y0, x1, y1, a0, a1 as rows)."""
    q = qc.q
    dur = v.t1[vsel] - v.t0[vsel]
    dmax = np.zeros(64, np.int64)
    np.maximum.at(dmax, vcls[vsel], dur)
    classes = np.flatnonzero(np.bincount(vcls[vsel], minlength=64))
    # volume entries sorted by (class, cell, start), their boxes gathered in that order
    vbox, vcell, vflag = g.entries(vspan, vsel)
    tb, cap = clock.bits, clock.cap
    keys = ((vcls[vbox] * g.ncells + vcell) << tb) | np.minimum(v.t0[vbox] - clock.tmin, cap)
    order = _order(keys)
    keys, vbox, vflag = keys[order], vbox[order], vflag[order]
    # one row per entry, gathered at once (separate gathers miss the cache each time)
    ev = np.take(vnum, vbox, axis=0)
    et1 = v.t1[vbox] - clock.tmin
    # for each class, the run of volumes in the query's cell starting in [qs - dmax, qe]
    grp = (classes[:, None] * g.ncells + qc.cell) << tb
    lo = np.searchsorted(keys, (grp | np.clip(qc.start - dmax[classes, None], 0, cap)).ravel())
    hi = np.searchsorted(keys, (grp | qc.end).ravel(), "right")
    live = np.flatnonzero(hi > lo)
    n = (hi - lo)[live]
    qent = np.repeat(live % len(qc.box), n)
    pos = np.arange(int(n.sum())) + np.repeat(lo[live] - (np.cumsum(n) - n), n)
    # a pair met in several cells is kept in the first column and row of the overlap:
    # the cheapest test, and it drops about a quarter, so it goes first
    k = np.flatnonzero((vflag[pos] | qc.flag[qent]) == 3)
    pos, qent = pos[k], qent[k]
    e = np.take(ev, pos, axis=0)
    r = np.take(qc.num, qent, axis=0)
    ok = (
        (e[:, 0] <= r[:, 2])
        & (r[:, 0] <= e[:, 2])
        & (e[:, 1] <= r[:, 3])
        & (r[:, 1] <= e[:, 3])
        & (e[:, 4] <= r[:, 5])
        & (r[:, 4] <= e[:, 5])
        & (qc.start[qent] <= et1[pos])
    )
    qi, vi = qc.box[qent], vbox[pos]
    if int(q.t1.max()) - clock.tmin >= cap:  # start times beyond the key's range
        ok &= v.t0[vi] <= q.t1[qi]
    return qi[ok], vi[ok]


def _exact(qg: Any, qi: IntArray, vg: Any, vi: IntArray) -> npt.NDArray[np.bool_]:
    """``shapely.intersects`` of the pairs (sorted by query), each query's footprint
    prepared first, in place (GEOS then indexes its edges once for all its pairs); they
    stay prepared, as ``shapely.prepare`` leaves them: undoing it costs a tenth of the
    test."""
    first = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]]) if len(qi) else qi
    shapely.prepare(qg[qi[first]])
    return np.asarray(shapely.intersects(qg[qi], vg[vi]), dtype=bool)


def conflict_pairs(
    q: Boxes, qgeom: Any, v: Boxes, vgeom: Any, threads: int = 2
) -> tuple[IntArray, IntArray]:
    """Every (query, volume) pair that meets in footprint, altitude and time, sorted by
    query then volume index.

    Both steps are split over up to ``threads`` threads (numpy and shapely release the
    GIL): first the box pairs, by duration class, then the exact test, by query, with
    the queries' footprints prepared in place. GEOS reads a plain geometry safely from
    several threads, but a prepared one builds its index lazily on first use: each
    query's pairs go to one thread, and a footprint object standing for two queries
    keeps the exact test on one thread."""
    qg, vg = np.asarray(qgeom, dtype=object), np.asarray(vgeom, dtype=object)
    tasks = _box_tasks(q, v, threads)
    with ThreadPoolExecutor(max(1, threads)) as ex:
        got = list(ex.map(lambda t: t(), tasks)) if len(tasks) > 1 else [tasks[0]()]
        qi = np.concatenate([p[0] for p in got])
        vi = np.concatenate([p[1] for p in got])
        o = _order(qi << max(1, (len(v) - 1).bit_length()) | vi)
        qi, vi = qi[o], vi[o]
        parts = max(1, min(threads, len(qi) // _CHUNK))
        if parts > 1:
            used = qg[qi[np.r_[True, qi[1:] != qi[:-1]]]]  # qi is sorted
            parts = parts if len({id(g) for g in used}) == len(used) else 1
        cuts = np.searchsorted(qi, qi[np.linspace(0, len(qi), parts + 1).astype(int)[1:-1]])
        bounds = [0, *cuts.tolist(), len(qi)]
        spans = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        hit = np.concatenate(list(ex.map(lambda s: _exact(qg, qi[s], vg, vi[s]), spans)))
    return qi[hit], vi[hit]
