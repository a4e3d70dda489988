"""How much two volumes overlap: shared area (m², in an aeqd projection centred on the
shared part), shared time (seconds) and shared altitude (metres). Zero means they only
touch (a shared edge, a window ending when the other starts, abutting bands)."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry

from truceline.deconfliction.volumes import FOREVER, Volume
from truceline.geo.projection import Projector

__all__ = ["Overlap", "area_m2", "overlap"]


@dataclass(frozen=True, slots=True)
class Overlap:
    area_m2: float
    seconds: int | None  # None: both stand until withdrawn
    alt_m: float | None  # None: both cover every altitude (protected sites)


def area_m2(geom: BaseGeometry) -> float:
    """Area of a lon/lat geometry, in square metres."""
    if geom.is_empty:
        return 0.0
    b = geom.bounds
    proj = Projector.for_bounds(b[0], b[1], b[2], b[3])
    return float(proj.geometry_forward(geom).area)


def overlap(a: Volume, b: Volume) -> Overlap:
    shared = a.geometry.intersection(b.geometry)
    end = min(a.t_end, b.t_end)
    secs = None if end >= FOREVER else max(0, end - max(a.t_start, b.t_start))
    both_sites = a.is_site and b.is_site
    alt = None if both_sites else max(0.0, min(a.alt_max, b.alt_max) - max(a.alt_min, b.alt_min))
    return Overlap(area_m2(shared), secs, alt)
