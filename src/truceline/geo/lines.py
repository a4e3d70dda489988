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
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError

__all__ = ["SegmentIndex"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

FANOUT = 2  # children per axis from one level to the next
ROOT_CELLS = 64  # stop coarsening once a level has at most this many cells ...
ROOT_PAIRS = 1 << 22  # ... or its cells times the segments are at most this many
BLOCK = 1 << 15  # pairs per vectorised block
POINT_BLOCK = 1 << 14  # points per block of the final, exact step


def _expand(ptr: IntArray, owner: IntArray) -> tuple[IntArray, IntArray]:
    """For each item i, the positions ptr[owner[i]]..ptr[owner[i]+1]: (item, position)."""
    lo = ptr[owner]
    cnt = ptr[owner + 1] - lo
    item = np.repeat(np.arange(len(owner)), cnt)
    pos = np.arange(len(item)) - np.repeat(np.cumsum(cnt) - cnt, cnt) + lo[item]
    return item, pos


class SegmentIndex:
    """Nearest distance from points to a set of polylines (metric coordinates)."""

    def __init__(self, parts: Sequence[npt.ArrayLike], cell_m: float = 500.0) -> None:
        if not cell_m > 0:
            raise InputError(f"leaf cell size must be positive, got {cell_m}")
        a: list[FloatArray] = []
        b: list[FloatArray] = []
        for part in parts:
            c = np.asarray(part, dtype=np.float64).reshape(-1, 2)
            if len(c) >= 2:
                a.append(c[:-1])
                b.append(c[1:])
        if not a:
            raise InputError("a line needs at least one segment with two vertices")
        sa, sb = np.concatenate(a), np.concatenate(b)
        if not (np.isfinite(sa).all() and np.isfinite(sb).all()):
            raise InputError("line coordinates must be finite")
        self.cell_m = float(cell_m)
        self.ax, self.ay = sa[:, 0].copy(), sa[:, 1].copy()
        self.bx, self.by = sb[:, 0].copy(), sb[:, 1].copy()
        dx, dy = self.bx - self.ax, self.by - self.ay
        len2 = dx * dx + dy * dy
        inv = np.divide(1.0, len2, out=np.zeros_like(len2), where=len2 > 1e-200)
        # One row per quantity so that a gather yields contiguous rows.
        self._table = np.ascontiguousarray(np.stack([self.ax, self.ay, dx, dy, inv]))

    @property
    def n_segments(self) -> int:
        return len(self.ax)

    def _offset(
        self, px: FloatArray, py: FloatArray, seg: IntArray
    ) -> tuple[FloatArray, FloatArray]:
        """Vector from each segment's nearest point to the point (pairs element-wise)."""
        ax, ay, dx, dy, inv = np.take(self._table, seg, axis=1)
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

    def _dist(self, px: FloatArray, py: FloatArray, seg: IntArray) -> FloatArray:
        out = np.empty(len(seg))
        for s in range(0, len(seg), BLOCK):  # blocks that stay in the CPU cache
            e = s + BLOCK
            rx, ry = self._offset(px[s:e], py[s:e], seg[s:e])
            rx *= rx
            ry *= ry
            rx += ry
            np.sqrt(rx, out=out[s:e])
        return out

    def distance(self, x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
        """Distance (metres) from each point to the nearest segment; NaN for NaN input."""
        px = np.asarray(x, dtype=np.float64).ravel()
        py = np.asarray(y, dtype=np.float64).ravel()
        finite = np.isfinite(px) & np.isfinite(py)
        if finite.all():
            return self._distance(px, py) if len(px) else np.zeros(0)
        out = np.full(px.shape, np.nan)
        ok = np.flatnonzero(finite)
        if len(ok):
            out[ok] = self._distance(px[ok], py[ok])
        return out

    def _distance(self, px: FloatArray, py: FloatArray) -> FloatArray:
        h = self.cell_m
        x0, y0 = px.min(), py.min()
        ix = np.floor((px - x0) / h).astype(np.int64)
        iy = np.floor((py - y0) / h).astype(np.int64)
        # Bottom-up: the occupied cells of each level and each cell's parent.
        levels: list[tuple[IntArray, IntArray, float]] = []  # (ix, iy, size) per level
        parents: list[IntArray] = []
        ncol = int(ix.max()) + 1
        keys, point_cell = _unique_inverse(iy * ncol + ix, ncol * (int(iy.max()) + 1))
        cx, cy = keys % ncol, keys // ncol
        size = h
        while True:
            levels.append((cx, cy, size))
            if len(cx) <= max(1, min(ROOT_CELLS, ROOT_PAIRS // self.n_segments)):
                break
            px_, py_ = cx // FANOUT, cy // FANOUT
            ncol = int(px_.max()) + 1
            pkeys, parent = _unique_inverse(py_ * ncol + px_, ncol * (int(py_.max()) + 1))
            parents.append(parent)
            cx, cy, size = pkeys % ncol, pkeys // ncol, size * FANOUT
        # Top-down: candidate segments per cell (CSR), the root cells testing all segments.
        nseg = self.n_segments
        cx, cy, size = levels[-1]
        ptr = np.arange(0, (len(cx) + 1) * nseg, nseg, dtype=np.int64)
        cand = np.tile(np.arange(nseg, dtype=np.int64), len(cx))
        for lvl in range(len(levels) - 1, -1, -1):
            cx, cy, size = levels[lvl]
            owner = np.arange(len(cx)) if lvl == len(levels) - 1 else parents[lvl]
            ptr, cand = self._refine(cx, cy, size, x0, y0, owner, ptr, cand)
        # The points against their leaf cell's candidates, a block at a time.
        out = np.empty(len(px))
        for s in range(0, len(px), POINT_BLOCK):
            cell = point_cell[s : s + POINT_BLOCK]
            item, pos = _expand(ptr, cell)
            item += s
            d = self._dist(px[item], py[item], cand[pos])
            cnt = ptr[cell + 1] - ptr[cell]
            out[s : s + POINT_BLOCK] = np.minimum.reduceat(d, np.cumsum(cnt) - cnt)
        return out

    def _refine(
        self,
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
        d, ux, uy = self._foot(mx[item], my[item], seg)
        cnt = np.bincount(item, minlength=len(cx))
        first = np.cumsum(cnt) - cnt
        best = _argmin_reduceat(d, first, cnt)
        keep = _bound(d, ux, uy, best[item], size * np.sqrt(0.5))
        new_cnt = np.bincount(item[keep], minlength=len(cx))
        new_ptr = np.zeros(len(cx) + 1, dtype=np.int64)
        np.cumsum(new_cnt, out=new_ptr[1:])
        return new_ptr, seg[keep]

    def _foot(
        self, px: FloatArray, py: FloatArray, seg: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Distance from points to segments, and the unit vector from the foot to the point."""
        d, ux, uy = np.empty(len(seg)), np.empty(len(seg)), np.empty(len(seg))
        for s in range(0, len(seg), BLOCK):
            e = s + BLOCK
            vx, vy = self._offset(px[s:e], py[s:e], seg[s:e])
            dd = np.sqrt(vx * vx + vy * vy, out=d[s:e])
            with np.errstate(invalid="ignore", divide="ignore"):
                np.divide(vx, dd, out=ux[s:e])
                np.divide(vy, dd, out=uy[s:e])
        return d, ux, uy


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
    d: FloatArray, ux: FloatArray, uy: FloatArray, best: IntArray, r: float
) -> npt.NDArray[np.bool_]:
    """Which (cell, segment) pairs may hold the nearest segment of a point of the cell.

    With ``m`` the centre's distance to its nearest segment ``s_c`` (unit vector
    ``u_c`` from foot to centre) and ``|p - c| <= r``: ``d(p, s_c) <= m + (p-c).u_c
    + r^2 / 2m`` (``s_c``'s foot is a point of the segment) and, a segment being
    convex, ``d(p, s) >= d(c, s) + (p-c).u_s``.  So ``s`` can win only if
    ``d(c, s) - m <= r |u_c - u_s| + r^2 / 2m``; the cruder ``d(c, s) - m <= 2r``
    (triangle inequality) also holds, and the smaller slack is used.
    """
    r = r * (1.0 + 1e-9) + 1e-6  # points sit in the cell up to rounding
    m = d[best]
    with np.errstate(invalid="ignore", divide="ignore"):
        turn = np.hypot(ux - ux[best], uy - uy[best])
        fine = r * turn + r * r / (2.0 * m)
        slack = np.where((m > r) & (d > 0), np.minimum(2.0 * r, fine), 2.0 * r)
    return np.asarray(d <= m + slack * (1.0 + 1e-12) + 1e-9, dtype=np.bool_)
