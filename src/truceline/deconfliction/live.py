"""The live index: active volumes kept in a 3D R-tree on (lon, lat, time) that takes
insertions and removals one at a time, so one submission is checked against 100,000
active volumes in well under a millisecond (``benchmarks/deconflict_live.py``).

A search returns the keys of the indexed volumes that meet the given one in
footprint, altitude and time, with the same closed-interval semantics as
``truceline.deconfliction.search``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely
from rtree import index

from truceline.deconfliction.volumes import Volume

__all__ = ["LiveIndex"]

#: candidates from which the submitted footprint is prepared before the exact test
_PREPARE_FROM = 8


class LiveIndex:
    """Volumes by integer key in an incremental 3D R-tree."""

    def __init__(self, items: Iterable[tuple[int, Volume]] = ()) -> None:
        prop = index.Property(dimension=3)
        self._vols: dict[int, Volume] = dict(items)
        boxes = ((k, _box(v), None) for k, v in self._vols.items())
        self._tree = (
            index.Index(boxes, properties=prop) if self._vols else index.Index(properties=prop)
        )

    def __len__(self) -> int:
        return len(self._vols)

    def __contains__(self, key: int) -> bool:
        return key in self._vols

    def add(self, key: int, vol: Volume) -> None:
        """Index ``vol`` under ``key`` (replacing what the key held)."""
        self.remove(key)
        self._vols[key] = vol
        self._tree.insert(key, _box(vol))

    def remove(self, key: int) -> None:
        old = self._vols.pop(key, None)
        if old is not None:
            self._tree.delete(key, _box(old))

    def get(self, key: int) -> Volume | None:
        return self._vols.get(key)

    def search(self, vol: Volume) -> list[int]:
        """Keys of the indexed volumes meeting ``vol``, ascending."""
        cand = [
            k
            for k in self._tree.intersection(_box(vol))
            if self._vols[k].alt_min <= vol.alt_max and vol.alt_min <= self._vols[k].alt_max
        ]
        if not cand:
            return []
        geoms = np.array([self._vols[k].geometry for k in cand], dtype=object)
        g = vol.geometry
        many = len(cand) > _PREPARE_FROM and not shapely.is_prepared(g)
        if many:  # preparing pays for itself over many candidates
            shapely.prepare(g)
        hit = shapely.intersects(g, geoms)
        if many:
            shapely.destroy_prepared(g)
        return sorted(k for k, h in zip(cand, hit.tolist(), strict=True) if h)


def _box(v: Volume) -> tuple[float, float, float, float, float, float]:
    x0, y0, x1, y1 = v.bbox
    return (x0, y0, float(v.t_start), x1, y1, float(v.t_end))
