"""Exact distance from many points to a polyline, in metric coordinates.

A quadtree of square cells is built over the points (cells that hold no point
are never made).  Each cell keeps the *candidate* segments that can be nearest
to some point of the cell: with ``c`` the cell centre, ``r`` its half diagonal
and ``m`` the distance from ``c`` to the line, every point ``p`` of the cell is
at most ``m + r`` from the line, and a segment ``s`` is at least
``d(c, s) - r`` from ``p``; so the nearest segment of any point of the cell is
among the segments with ``d(c, s) <= m + 2r``.  Far from the line a sharper
bound that uses the direction from each segment to the centre keeps the list
short (see ``_bound``).  The root cells test all segments; each child tests only
its parent's candidates; the points of a leaf cell (``cell_m`` wide) are finally
measured exactly against the leaf's few candidates.  The result equals the
minimum over all segments (no approximation; the bounds carry a margin for
rounding).

A dense line (a contact line traced from a control map can have tens of thousands
of segments a few tens of metres long) would keep thousands of candidates per
cell in the upper levels.  There the quadtree works on a *coarse* copy instead:
the line simplified (Douglas-Peucker, ``coarse_m``), each coarse segment standing
for the run of exact segments between its two ends, with its *slop* ``h``: the
largest distance from a vertex of that run to it (measured, so every point of the
run is within ``h`` of the coarse segment).  A coarse segment's run is then at
least ``d - h`` and at most ``d + h`` from a point at distance ``d``, and the
bounds above take ``h`` into account.  Once cells are small (``switch_m``), each
coarse candidate is replaced by its run and pruned again exactly, so the points
are still measured against exact segments only: the result is the same.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import shapely

from truceline.domain.errors import InputError

__all__ = ["SegmentIndex"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FANOUT = 2  # children per axis from one level to the next
ROOT_CELLS = 64  # stop coarsening once a level has at most this many cells ...
ROOT_PAIRS = 1 << 22  # ... or its cells times the segments are at most this many
BLOCK = 1 << 15  # pairs per vectorised block
POINT_BLOCK = 1 << 14  # points per block of the final, exact step
COARSE_MIN = 8192  # segments from which a coarse copy may pay
COARSE_GAIN = 3  # ... if it has at most this fraction (1/n) of the segments


def _expand(ptr: IntArray, owner: IntArray) -> tuple[IntArray, IntArray]:
    """For each item i, the positions ptr[owner[i]]..ptr[owner[i]+1]: (item, position)."""
    lo = ptr[owner]
    cnt = ptr[owner + 1] - lo
    item = np.repeat(np.arange(len(owner)), cnt)
    pos = np.arange(len(item)) - np.repeat(np.cumsum(cnt) - cnt, cnt) + lo[item]
    return item, pos


class _Segments:
    """Segments as a gather table, each with its slop (0 for exact segments)."""

    def __init__(self, sa: FloatArray, sb: FloatArray, slop: FloatArray | None = None) -> None:
        ax, ay = sa[:, 0], sa[:, 1]
        dx, dy = sb[:, 0] - ax, sb[:, 1] - ay
        len2 = dx * dx + dy * dy
        inv = np.divide(1.0, len2, out=np.zeros_like(len2), where=len2 > 1e-200)
        # One row per quantity so that a gather yields contiguous rows.
        self.table = np.ascontiguousarray(np.stack([ax, ay, dx, dy, inv]))
        self.slop = np.zeros(len(sa)) if slop is None else slop

    def __len__(self) -> int:
        return int(self.table.shape[1])

    def as_line(self) -> _Segments:
        """The same segments taken as the line itself (no slop)."""
        plain = copy.copy(self)
        plain.slop = np.zeros(len(self))
        return plain

    def offset(
        self, px: FloatArray, py: FloatArray, seg: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """Vector from each segment's nearest point to the point (pairs element-wise)."""
        ax, ay, dx, dy, inv = np.take(self.table, seg, axis=1)
        rx = px - ax
        ry = py - ay
        u = rx * dx
        u += ry * dy
        u *= inv
        np.clip(u, 0.0, 1.0, out=u)
        dx *= u
        dy *= u
        rx -= dx
        ry -= dy
        return rx, ry

    def dist(self, px: FloatArray, py: FloatArray, seg: IntArray) -> FloatArray:
        out = np.empty(len(seg))
        for s in range(0, len(seg), BLOCK):  # blocks that stay in the CPU cache
            e = s + BLOCK
            rx, ry = self.offset(px[s:e], py[s:e], seg[s:e])
            rx *= rx
            ry *= ry
            rx += ry
            np.sqrt(rx, out=out[s:e])
        return out

    def foot(
        self, px: FloatArray, py: FloatArray, seg: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Distance from points to segments, and the unit vector from the foot to the point."""
        d, ux, uy = np.empty(len(seg)), np.empty(len(seg)), np.empty(len(seg))
        for s in range(0, len(seg), BLOCK):
            e = s + BLOCK
            vx, vy = self.offset(px[s:e], py[s:e], seg[s:e])
            dd = np.sqrt(vx * vx + vy * vy, out=d[s:e])
            with np.errstate(invalid="ignore", divide="ignore"):
                np.divide(vx, dd, out=ux[s:e])
                np.divide(vy, dd, out=uy[s:e])
        return d, ux, uy


class _Coarse:
    """A simplified copy of the line: its segments (with slop) and, per coarse segment,
    the exact segments it stands for (``first[k]`` up to ``first[k + 1]``)."""

    def __init__(self, parts: Sequence[FloatArray], tolerance_m: float) -> None:
        sa: list[FloatArray] = []
        sb: list[FloatArray] = []
        bounds: list[IntArray] = []
        base = 0  # exact segments of the parts before this one
        for c in parts:
            # The vertex number rides along as Z: the simplifier keeps the Z of the
            # vertices it keeps, so each coarse vertex says which exact vertex it is.
            xyz = np.column_stack([c, np.arange(len(c), dtype=np.float64)])
            kept = shapely.get_coordinates(
                shapely.simplify(shapely.LineString(xyz), tolerance_m, preserve_topology=False),
                include_z=True,
            )
            at = kept[:, 2].astype(np.int64) if len(kept) >= 2 else np.zeros(0, np.int64)
            if len(at) < 2 or at[0] != 0 or at[-1] != len(c) - 1 or (np.diff(at) <= 0).any():
                at = np.array([0, len(c) - 1], dtype=np.int64)  # one chord: slop says the rest
            sa.append(c[at[:-1]])
            sb.append(c[at[1:]])
            bounds.append(base + at[:-1])
            base += len(c) - 1
        self.first = np.append(np.concatenate(bounds), base).astype(np.int64)
        a, b = np.concatenate(sa), np.concatenate(sb)
        self.segments = _Segments(a, b, np.zeros(len(a)))

    def measure_slop(self, exact: _Segments) -> None:
        """Each coarse segment's slop: the farthest vertex of its run from it (both ends
        of every exact segment, so the gaps between parts are covered too)."""
        count = np.diff(self.first)
        owner = np.repeat(np.arange(len(count)), count)
        seg = np.arange(int(self.first[-1]))
        ax, ay, dx, dy, _ = exact.table
        far = np.zeros(len(count))
        for x, y in ((ax, ay), (ax + dx, ay + dy)):
            d = self.segments.dist(x[seg], y[seg], owner)
            np.maximum.at(far, owner, d)
        self.segments.slop = far

    def __len__(self) -> int:
        return len(self.segments)


class SegmentIndex:
    """Nearest distance from points to a set of polylines (metric coordinates).

    ``coarse_m``: the tolerance of the coarse copy used in the upper levels (default:
    ``tolerance_m`` if given, else a tenth of ``cell_m``, for a line of ``COARSE_MIN``
    segments or more, else none; 0: never), kept only if it has at most a
    ``COARSE_GAIN``-th of the segments; ``switch_m``: the cell width from which the
    exact segments take over (default twice ``cell_m``).

    ``tolerance_m`` (default 0: exact everywhere): when a coarse copy is kept, a point
    more than twice this from it is measured to the coarse copy alone, which differs
    from the exact distance by at most the largest slop (``error_m``, at most about
    the tolerance); the points nearer, and so every point within the tolerance of
    the exact line, are measured exactly."""

    def __init__(
        self,
        parts: Sequence[npt.ArrayLike],
        cell_m: float = 500.0,
        coarse_m: float | None = None,
        switch_m: float | None = None,
        tolerance_m: float = 0.0,
    ) -> None:
        if not cell_m > 0:
            raise InputError(f"leaf cell size must be positive, got {cell_m}")
        lines = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in parts]
        lines = [c for c in lines if len(c) >= 2]
        if not lines:
            raise InputError("a line needs at least one segment with two vertices")
        sa = np.concatenate([c[:-1] for c in lines])
        sb = np.concatenate([c[1:] for c in lines])
        if not (np.isfinite(sa).all() and np.isfinite(sb).all()):
            raise InputError("line coordinates must be finite")
        self.cell_m = float(cell_m)
        self._exact = _Segments(sa, sb)
        self.switch_m = 2.0 * self.cell_m if switch_m is None else float(switch_m)
        if not tolerance_m >= 0:
            raise InputError(f"distance tolerance must be 0 or more, got {tolerance_m}")
        self.tolerance_m = float(tolerance_m)
        dense = len(self._exact) >= COARSE_MIN
        auto = (self.tolerance_m or self.cell_m / 10.0) if dense else 0.0
        simplify = auto if coarse_m is None else coarse_m
        self._coarse: _Coarse | None = None
        if simplify > 0:
            coarse = _Coarse(lines, float(simplify))
            if len(coarse) * COARSE_GAIN <= len(self._exact):
                coarse.measure_slop(self._exact)
                self._coarse = coarse

    @property
    def n_segments(self) -> int:
        return len(self._exact)

    @property
    def n_coarse(self) -> int:
        """Segments of the coarse copy (0: none, the line is not dense enough to need it)."""
        return 0 if self._coarse is None else len(self._coarse)

    @property
    def error_m(self) -> float:
        """The most a distance returned may differ from the exact one (0: exact)."""
        if self._coarse is None or not self.tolerance_m:
            return 0.0
        return float(self._coarse.segments.slop.max())

    def distance(self, x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
        """Distance (metres) from each point to the nearest segment; NaN for NaN input."""
        px = np.asarray(x, dtype=np.float64).ravel()
        py = np.asarray(y, dtype=np.float64).ravel()
        finite = np.isfinite(px) & np.isfinite(py)
        if finite.all():
            return self._measure(px, py) if len(px) else np.zeros(0)
        out = np.full(px.shape, np.nan)
        ok = np.flatnonzero(finite)
        if len(ok):
            out[ok] = self._measure(px[ok], py[ok])
        return out

    def _measure(self, px: FloatArray, py: FloatArray) -> FloatArray:
        """Exact distances, or within the tolerance for points far from the line."""
        if self._coarse is None or not self.tolerance_m:
            return self._distance(px, py, self._coarse, exact=True)
        out = self._distance(px, py, self._coarse, exact=False)
        near = np.flatnonzero(out <= 2.0 * self.tolerance_m)
        if len(near):
            out[near] = self._distance(px[near], py[near], self._coarse, exact=True)
        return out

    def _distance(
        self, px: FloatArray, py: FloatArray, coarse: _Coarse | None, exact: bool
    ) -> FloatArray:
        """Distance to the exact line (``coarse`` used down to the switch), or with
        ``exact`` false to the coarse copy alone."""
        h = self.cell_m
        x0, y0 = px.min(), py.min()
        ix = np.floor((px - x0) / h).astype(np.int64)
        iy = np.floor((py - y0) / h).astype(np.int64)
        if coarse is None:
            segs = self._exact
        else:
            segs = coarse.segments if exact else coarse.segments.as_line()
        # Bottom-up: the occupied cells of each level and each cell's parent.
        levels: list[tuple[IntArray, IntArray, float]] = []  # (ix, iy, size) per level
        parents: list[IntArray] = []
        ncol = int(ix.max()) + 1
        keys, point_cell = _unique_inverse(iy * ncol + ix, ncol * (int(iy.max()) + 1))
        cx, cy = keys % ncol, keys // ncol
        size = h
        while True:
            levels.append((cx, cy, size))
            if len(cx) <= max(1, min(ROOT_CELLS, ROOT_PAIRS // len(segs))):
                break
            px_, py_ = cx // FANOUT, cy // FANOUT
            ncol = int(px_.max()) + 1
            pkeys, parent = _unique_inverse(py_ * ncol + px_, ncol * (int(py_.max()) + 1))
            parents.append(parent)
            cx, cy, size = pkeys % ncol, pkeys // ncol, size * FANOUT
        # Top-down: candidate segments per cell (CSR), the root cells testing all segments.
        nseg = len(segs)
        cx, cy, size = levels[-1]
        ptr = np.arange(0, (len(cx) + 1) * nseg, nseg, dtype=np.int64)
        cand = np.tile(np.arange(nseg, dtype=np.int64), len(cx))
        for lvl in range(len(levels) - 1, -1, -1):
            cx, cy, size = levels[lvl]
            owner = np.arange(len(cx)) if lvl == len(levels) - 1 else parents[lvl]
            ptr, cand = _refine(segs, cx, cy, size, x0, y0, owner, ptr, cand)
            if exact and coarse is not None and (size <= self.switch_m or lvl == 0):
                ptr, cand = _to_exact(coarse.first, ptr, cand)
                segs, coarse = self._exact, None
                ptr, cand = _refine(segs, cx, cy, size, x0, y0, np.arange(len(cx)), ptr, cand)
        # The points against their leaf cell's candidates, a block at a time.
        out = np.empty(len(px))
        for s in range(0, len(px), POINT_BLOCK):
            cell = point_cell[s : s + POINT_BLOCK]
            item, pos = _expand(ptr, cell)
            item += s
            d = segs.dist(px[item], py[item], cand[pos])
            cnt = ptr[cell + 1] - ptr[cell]
            out[s : s + POINT_BLOCK] = np.minimum.reduceat(d, np.cumsum(cnt) - cnt)
        return out


def _to_exact(first: IntArray, ptr: IntArray, cand: IntArray) -> tuple[IntArray, IntArray]:
    """Each cell's coarse candidates replaced by the runs of exact segments they stand for
    (coarse segment ``k``: exact ``first[k]`` up to ``first[k + 1]``)."""
    _, exact = _expand(first, cand)
    ends = np.zeros(len(cand) + 1, dtype=np.int64)
    np.cumsum(first[cand + 1] - first[cand], out=ends[1:])
    return ends[ptr], exact


def _refine(
    segs: _Segments,
    cx: IntArray,
    cy: IntArray,
    size: float,
    x0: float,
    y0: float,
    owner: IntArray,
    ptr: IntArray,
    cand: IntArray,
) -> tuple[IntArray, IntArray]:
    """Candidates of each cell from its owner's (parent's) candidates (see _bound)."""
    item, pos = _expand(ptr, owner)
    seg = cand[pos]
    mx = np.asarray(x0 + (cx + 0.5) * size, dtype=np.float64)
    my = np.asarray(y0 + (cy + 0.5) * size, dtype=np.float64)
    d, ux, uy = segs.foot(mx[item], my[item], seg)
    cnt = np.bincount(item, minlength=len(cx))
    first = np.cumsum(cnt) - cnt
    best = _argmin_reduceat(d, first, cnt)
    keep = _bound(d, ux, uy, best[item], size * np.sqrt(0.5), segs.slop[seg])
    new_cnt = np.bincount(item[keep], minlength=len(cx))
    new_ptr = np.zeros(len(cx) + 1, dtype=np.int64)
    np.cumsum(new_cnt, out=new_ptr[1:])
    return new_ptr, seg[keep]


def _unique_inverse(key: IntArray, space: int) -> tuple[IntArray, IntArray]:
    """Sorted distinct keys and each key's position among them (``np.unique``, but by
    counting when the key space is small enough)."""
    if space > 8 * len(key) + 1024:
        order = np.argsort(key)
        s = key[order]
        new = np.r_[True, s[1:] != s[:-1]]
        inv = np.empty(len(key), dtype=np.int64)
        inv[order] = np.cumsum(new) - 1
        return s[new], inv
    seen = np.zeros(space, dtype=bool)
    seen[key] = True
    keys = np.flatnonzero(seen)
    rank = np.cumsum(seen, dtype=np.int64) - 1
    return keys, rank[key]


def _argmin_reduceat(d: FloatArray, first: IntArray, cnt: IntArray) -> IntArray:
    """Index of the (first) smallest value of each contiguous, non-empty group."""
    group = np.repeat(np.arange(len(first)), cnt)
    low = np.minimum.reduceat(d, first)
    at = np.where(d == low[group], np.arange(len(d)), len(d))
    return np.asarray(np.minimum.reduceat(at, first), dtype=np.int64)


def _bound(
    d: FloatArray, ux: FloatArray, uy: FloatArray, best: IntArray, r: float, slop: FloatArray
) -> npt.NDArray[np.bool_]:
    """Which (cell, segment) pairs may hold the nearest segment of a point of the cell.

    With ``m`` the centre's distance to its nearest segment ``s_c`` (unit vector
    ``u_c`` from foot to centre) and ``|p - c| <= r``: ``d(p, s_c) <= m + (p-c).u_c
    + r^2 / 2m`` (``s_c``'s foot is a point of the segment) and, a segment being
    convex, ``d(p, s) >= d(c, s) + (p-c).u_s``.  So ``s`` can win only if
    ``d(c, s) - m <= r |u_c - u_s| + r^2 / 2m``; the cruder ``d(c, s) - m <= 2r``
    (triangle inequality) also holds, and the smaller slack is used.

    A coarse segment with slop ``h`` stands for exact segments within ``h`` of it: these
    are at least ``d(p, s) - h_s`` from ``p``, and the nearest at most ``d(p, s_c) +
    h_c``; so ``s`` is kept while ``d(c, s) - h_s - m - h_c`` is within the slack.
    """
    r = r * (1.0 + 1e-9) + 1e-6  # points sit in the cell up to rounding
    m = d[best]
    reach = m + slop[best] + slop + 1e-9
    keep = d <= reach + 2.0 * r * (1.0 + 1e-12)  # the cruder bound first: most go here
    sharp = np.flatnonzero(keep & (m > r) & (d > 0))  # ... the finer one where it applies
    b = best[sharp]
    turn = np.hypot(ux[sharp] - ux[b], uy[sharp] - uy[b])
    fine = r * turn + r * r / (2.0 * m[sharp])
    keep[sharp] = d[sharp] <= reach[sharp] + np.minimum(2.0 * r, fine) * (1.0 + 1e-12)
    return keep
