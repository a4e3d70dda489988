"""A regular lon/lat grid whose cells are numbered row by row."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Grid"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
