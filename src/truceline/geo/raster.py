"""A raster prefilter for point-in-polygon over many zones at once.

A regular lon/lat grid covers all zones.  A cell touched by a zone's boundary
(the edges are cut into pieces shorter than half a cell, each piece's bounding box
widened by a hair) is *dirty* for that zone; every other cell lies wholly inside
or wholly outside the zone, and one exact ``shapely.contains_xy`` on the cell
centre per row run of clean cells decides which.  Points then read the answer
for clean cells from the raster, and only (point, zone) pairs whose cell is
dirty for the zone are tested exactly.  The answer is therefore the same as
``shapely.contains_xy`` (interior containment, planar in lon/lat) everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from truceline.geo.errors import geo_errors

__all__ = ["Grid", "PolygonRaster"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

AMBIGUOUS = -2  # more than one zone of a one-of layer covers the cell


@dataclass(frozen=True)
class Grid:
    """Square cells of side ``cell`` from (x0, y0); cell key = row * ncols + col."""

    x0: float
    y0: float
    cell: float
    ncols: int
    nrows: int

    @property
    def ncells(self) -> int:
        return self.ncols * self.nrows

    @classmethod
    def fit(cls, bounds: tuple[float, float, float, float], max_cells: int) -> Grid:
        minx, miny, maxx, maxy = bounds
        w, h = max(maxx - minx, 0.0), max(maxy - miny, 0.0)
        cell = max(math.sqrt(w * h / max_cells), max(w, h) / max_cells, 1e-9)
        return cls(minx, miny, cell, int(w // cell) + 1, int(h // cell) + 1)

    def locate(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Cell keys of points; ``ncells`` for points off the grid (or NaN)."""
        with np.errstate(invalid="ignore"):
            fc = np.floor((x - self.x0) / self.cell)
            fr = np.floor((y - self.y0) / self.cell)
            off = ~((fc >= 0) & (fc < self.ncols) & (fr >= 0) & (fr < self.nrows))
        key = np.where(off, 0.0, fr * self.ncols + fc).astype(np.int64)
        key[off] = self.ncells
        return key

    def centres(self, key: IntArray) -> tuple[FloatArray, FloatArray]:
        row, col = np.divmod(key, self.ncols)
        return self.x0 + (col + 0.5) * self.cell, self.y0 + (row + 0.5) * self.cell


def _edges(geoms: npt.NDArray[np.object_]) -> tuple[FloatArray, FloatArray, IntArray]:
    """Boundary edges of polygonal geometries: start points, end points, zone index."""
    parts, pidx = shapely.get_parts(geoms, return_index=True)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    same = cidx[1:] == cidx[:-1]
    zone = pidx[ridx[cidx[:-1][same]]].astype(np.int64)
    return coords[:-1][same], coords[1:][same], zone


def _dirty_pairs(geoms: npt.NDArray[np.object_], grid: Grid) -> IntArray:
    """Sorted unique ``zone * ncells + cell`` for every cell a zone boundary touches."""
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
    out = []
    for dc in (0, 1):
        for dr in (0, 1):
            ok = (lo[:, 0] + dc <= hi[:, 0]) & (lo[:, 1] + dr <= hi[:, 1])
            cell = (lo[ok, 1] + dr) * grid.ncols + lo[ok, 0] + dc
            out.append(zone[e[ok]] * grid.ncells + cell)
    return np.unique(np.concatenate(out))


@dataclass(frozen=True)
class PolygonRaster:
    """Per cell: the zones whose boundary touches it (CSR) and runs of clean inside cells."""

    grid: Grid
    dirty_ptr: IntArray  # ncells + 2 entries; the last cell (key ncells) is "off the grid"
    dirty_zone: IntArray
    run_zone: IntArray
    run_start: IntArray
    run_stop: IntArray

    @classmethod
    def build(cls, geoms: npt.NDArray[np.object_], max_cells: int = 1 << 21) -> PolygonRaster:
        geoms = np.asarray(geoms, dtype=object)
        with geo_errors("zone rasterisation"):
            bounds = shapely.total_bounds(geoms) if len(geoms) else np.zeros(4)
            grid = Grid.fit(tuple(float(v) for v in bounds), max_cells)  # type: ignore[arg-type]
            keys = _dirty_pairs(geoms, grid) if len(geoms) else np.zeros(0, np.int64)
            zone, cell = np.divmod(keys, grid.ncells)
            gap = (zone[1:] == zone[:-1]) & (cell[1:] - cell[:-1] > 1)
            gap &= cell[1:] // grid.ncols == cell[:-1] // grid.ncols
            start, stop, rz = cell[:-1][gap] + 1, cell[1:][gap], zone[:-1][gap]
            cx, cy = grid.centres(start)
            shapely.prepare(geoms)
            inside = shapely.contains_xy(geoms[rz], cx, cy)
        order = np.argsort(cell, kind="stable")
        counts = np.bincount(cell, minlength=grid.ncells + 1)
        ptr = np.zeros(grid.ncells + 2, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        return cls(grid, ptr, zone[order], rz[inside], start[inside], stop[inside])

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

    def dirty_pairs(self, key: IntArray) -> tuple[IntArray, IntArray]:
        """(point position, zone) for every point whose cell is dirty for the zone."""
        lo = self.dirty_ptr[key]
        cnt = self.dirty_ptr[key + 1] - lo
        pos = np.flatnonzero(cnt)
        c = cnt[pos]
        pts = np.repeat(pos, c)
        off = np.arange(len(pts)) - np.repeat(np.cumsum(c) - c, c)
        return pts, self.dirty_zone[lo[pts] + off]
