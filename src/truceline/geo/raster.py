"""A raster prefilter for point-in-polygon over many zones at once.

A regular lon/lat grid covers all zones.  A cell touched by a zone's boundary
(the edges are cut into pieces shorter than half a cell, each piece's bounding box
widened by a hair) is *dirty* for that zone; every other cell lies wholly inside
or wholly outside the zone, and one exact ``shapely.contains_xy`` on the cell
centre per row run of clean cells decides which.  Points read the answer for
clean cells from the raster; (point, zone) pairs whose cell is dirty for the zone
are tested exactly with ``shapely.contains_xy``.

Zones often share a stretch of boundary (the control areas and every withdrawal
band run along the contact line).  Where several zones have exactly the same
edges inside a cell, one of them (the *master*) is tested and the others follow:
off the shared edges, crossing an edge flips every one of them, so
``in(z) = in(master) XOR (in(z) XOR in(master) at the cell centre)``; on the
shared edges (``intersects_xy`` but not ``contains_xy`` of the master) all are
out.  The answer is therefore ``shapely.contains_xy`` (interior containment,
planar in lon/lat) everywhere, for valid polygons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from truceline.geo.edges import boundary_cells
from truceline.geo.errors import geo_errors
from truceline.geo.grid import Grid

__all__ = ["AMBIGUOUS", "PolygonRaster"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

AMBIGUOUS = -2  # more than one zone of a one-of layer covers the cell


def _csr(cell: IntArray, ncells: int) -> IntArray:
    """Row pointers (ncells + 2 entries) for items sorted by cell."""
    ptr = np.zeros(ncells + 2, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=ncells + 1), out=ptr[1:])
    return ptr


def _expand(ptr: IntArray, key: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(point, item) for every item of every point's cell, and each point's first pair."""
    lo = ptr[key]
    cnt = ptr[key + 1] - lo
    first = np.cumsum(cnt) - cnt
    pos = np.flatnonzero(cnt)
    c = cnt[pos]
    pts = np.repeat(pos, c)
    item = np.arange(len(pts)) - np.repeat(first[pos], c) + lo[pts]
    return pts, item, first


@dataclass(frozen=True)
class PolygonRaster:
    """Per cell: zones to test (CSR), zones that follow a tested master (CSR), and the
    runs of clean cells inside each zone."""

    grid: Grid
    test_ptr: IntArray
    test_zone: IntArray
    test_touch: BoolArray  # has followers: also tell "on the boundary" from "outside"
    follow_ptr: IntArray
    follow_zone: IntArray
    follow_master: IntArray  # offset of the master within the cell's tested zones
    follow_flip: BoolArray
    run_zone: IntArray
    run_start: IntArray
    run_stop: IntArray

    @classmethod
    def build(cls, geoms: npt.NDArray[np.object_], max_cells: int = 1 << 20) -> PolygonRaster:
        geoms = np.asarray(geoms, dtype=object)
        with geo_errors("zone rasterisation"):
            bounds = shapely.total_bounds(geoms) if len(geoms) else np.zeros(4)
            grid = Grid.fit(tuple(float(v) for v in bounds), max_cells)  # type: ignore[arg-type]
            if len(geoms):
                keys, sig = boundary_cells(geoms, grid)
            else:
                keys, sig = np.zeros(0, np.int64), np.zeros(0, np.uint64)
            zone, cell = np.divmod(keys, grid.ncells)
            gap = (zone[1:] == zone[:-1]) & (cell[1:] - cell[:-1] > 1)
            gap &= cell[1:] // grid.ncols == cell[:-1] // grid.ncols
            start, stop, rz = cell[:-1][gap] + 1, cell[1:][gap], zone[:-1][gap]
            cx, cy = grid.centres(start)
            shapely.prepare(geoms)
            inside = shapely.contains_xy(geoms[rz], cx, cy)
            parts = _followers(geoms, grid, zone, cell, sig)
        return cls(grid, *parts, rz[inside], start[inside], stop[inside])

    def _cover(self, weight: npt.NDArray[np.generic], dtype: type) -> npt.NDArray[np.generic]:
        """Sum of ``weight[zone]`` over the zones whose clean inside runs cover each cell."""
        diff: npt.NDArray[Any] = np.zeros(self.grid.ncells + 2, dtype=dtype)
        w: npt.NDArray[Any] = weight[self.run_zone].astype(dtype)
        np.add.at(diff, self.run_start, w)
        np.subtract.at(diff, self.run_stop, w)
        return np.cumsum(diff[:-1], dtype=dtype)

    def one_of(self, value: IntArray) -> IntArray:
        """Per cell: ``value`` of the one clean zone (value >= 0) covering it, -1 if none,
        AMBIGUOUS if several do.  Zones with value < 0 are ignored."""
        member = (value >= 0).astype(np.int64)
        count = self._cover(member, np.int64)
        total = self._cover(np.where(value >= 0, value, 0), np.int64)
        out = np.where(count == 0, -1, np.where(count == 1, total, AMBIGUOUS))
        return out.astype(np.int32)

    def bitset(self, bit: IntArray, words: int) -> npt.NDArray[np.uint64]:
        """Per cell, bit ``bit[z]`` set for each clean zone z (bit >= 0) covering it."""
        out = np.zeros((self.grid.ncells + 1, words), dtype=np.uint64)
        for w in range(words):
            sel = (bit >= 64 * w) & (bit < 64 * (w + 1))
            shift = np.where(sel, bit - 64 * w, 0).astype(np.uint64)
            weight = np.where(sel, np.left_shift(np.uint64(1), shift), np.uint64(0))
            out[:, w] = self._cover(weight.astype(np.uint64), np.uint64)
        return out

    def hits(
        self, geoms: npt.NDArray[np.object_], key: IntArray, x: FloatArray, y: FloatArray
    ) -> tuple[IntArray, IntArray]:
        """(point position, zone) for every zone whose boundary touches the point's cell
        and whose interior contains the point (``geoms`` as given to :meth:`build`)."""
        pts, item, first = _expand(self.test_ptr, key)
        zone = self.test_zone[item]
        with geo_errors("point in zone"):
            hit = shapely.contains_xy(geoms[zone], x[pts], y[pts])
            ask = np.flatnonzero(self.test_touch[item] & ~hit)
            edge = np.zeros(len(hit), dtype=bool)
            edge[ask] = shapely.intersects_xy(geoms[zone[ask]], x[pts[ask]], y[pts[ask]])
        fpts, fitem, _ = _expand(self.follow_ptr, key)
        m = first[fpts] + self.follow_master[fitem]
        fhit = (hit[m] ^ self.follow_flip[fitem]) & ~edge[m]
        return (
            np.concatenate([pts[hit], fpts[fhit]]),
            np.concatenate([zone[hit], self.follow_zone[fitem][fhit]]),
        )


def _followers(
    geoms: npt.NDArray[np.object_], grid: Grid, zone: IntArray, cell: IntArray, sig: Any
) -> tuple[IntArray, IntArray, BoolArray, IntArray, IntArray, IntArray, BoolArray]:
    """Split the dirty (zone, cell) pairs into tested masters and their followers."""
    order = np.lexsort((zone, sig, cell))
    zone, cell, sig = zone[order], cell[order], sig[order]
    n = len(zone)
    new = np.ones(n, dtype=bool)
    new[1:] = (cell[1:] != cell[:-1]) | (sig[1:] != sig[:-1])
    group = np.cumsum(new) - 1
    head = np.flatnonzero(new)
    size = np.diff(np.r_[head, n])
    shared = size[group] > 1
    inside = np.zeros(n, dtype=bool)
    on_edge = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(shared)
    if len(idx):
        cx, cy = grid.centres(cell[idx])
        inside[idx] = shapely.contains_xy(geoms[zone[idx]], cx, cy)
        on_edge[idx] = shapely.intersects_xy(geoms[zone[idx]], cx, cy) & ~inside[idx]
    bad = np.zeros(len(head), dtype=bool)
    np.logical_or.at(bad, group, on_edge)  # centre on the shared edges: test each zone
    master = head[group]
    follow = shared & ~new & ~bad[group]
    test = ~follow
    rank = np.cumsum(test) - 1  # position among the tested pairs
    test_ptr = _csr(cell[test], grid.ncells)
    touch = np.zeros(n, dtype=bool)
    touch[master[follow]] = True
    f = np.flatnonzero(follow)
    master_off = rank[master[f]] - test_ptr[cell[f]]
    return (
        test_ptr,
        zone[test],
        touch[test],
        _csr(cell[f], grid.ncells),
        zone[f],
        master_off,
        inside[f] ^ inside[master[f]],
    )
