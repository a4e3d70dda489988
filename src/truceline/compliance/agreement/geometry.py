"""Deriving an agreement's zones in a metric projection (shapely 2, pyproj).

Everything metric happens in an azimuthal equidistant projection centred on the
contact line (scale error under 0.1 % within ~500 km of the centre), and the
results are projected back to lon/lat (``truceline.geo.projection.Projector``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.ops import split

from truceline.geo.projection import Projector

__all__ = [
    "Metric",
    "band",
    "buffer_zone",
    "circle",
    "near_line",
    "control_areas",
    "sectors",
    "side_of",
]


@dataclass(frozen=True)
class Metric:
    """Forward/inverse aeqd projection centred on (lon0, lat0), in metres
    (``truceline.geo.projection.Projector``), for shapely geometries."""

    lon0: float
    lat0: float

    @classmethod
    def around(cls, geom: BaseGeometry) -> Metric:
        minx, miny, maxx, maxy = geom.bounds
        return cls((minx + maxx) / 2.0, (miny + maxy) / 2.0)

    @property
    def projector(self) -> Projector:
        return _projector(self.lat0, self.lon0, threading.get_ident())

    def fwd(self, geom: BaseGeometry, densify_deg: float = 0.01) -> BaseGeometry:
        """Project; straight lon/lat edges are first cut every ``densify_deg`` degrees so
        that they keep their shape (zones are planar in lon/lat)."""
        dense = shapely.segmentize(geom, densify_deg) if densify_deg else geom
        return cast(BaseGeometry, self.projector.geometry_forward(dense))

    def inv(self, geom: BaseGeometry) -> BaseGeometry:
        return cast(BaseGeometry, self.projector.geometry_inverse(geom))


@lru_cache(maxsize=64)
def _projector(lat0: float, lon0: float, _thread: int) -> Projector:
    """Projectors are costly to build (~30 ms): one per centre and thread (pyproj
    transformers are not shared between threads)."""
    return Projector(lat0, lon0)


def side_of(line_m: BaseGeometry, point_m: shapely.Point) -> int:
    """+1 if ``point_m`` lies left of the (projected) line walking first to last vertex,
    -1 if right, 0 if on it: the sign of the cross product at the nearest segment."""
    lines = list(getattr(line_m, "geoms", [line_m]))
    best = min(lines, key=lambda ln: ln.distance(point_m))
    s = best.project(point_m)
    length = best.length
    a = best.interpolate(max(0.0, min(s - 1.0, length - 2.0)))
    b = best.interpolate(min(length, max(s + 1.0, 2.0)))
    cross = (b.x - a.x) * (point_m.y - a.y) - (b.y - a.y) * (point_m.x - a.x)
    return int(np.sign(cross))


def control_areas(
    region: BaseGeometry, line: BaseGeometry, sides: Mapping[str, int], metric: Metric
) -> dict[str, BaseGeometry]:
    """Split ``region`` by ``line`` and give each piece to the party on its side.

    ``sides`` maps party id to +1 (left of the line) or -1 (right). The split is done
    in lon/lat, so the control areas tile the region exactly; the side is decided in the
    metric projection. Raises ``ValueError`` when the line does not divide the region.
    """
    merged = shapely.line_merge(line) if line.geom_type == "MultiLineString" else line
    pieces = list(split(region, merged).geoms) if not region.is_empty else []
    line_m = metric.fwd(line)
    by_side: dict[int, list[BaseGeometry]] = {1: [], -1: []}
    for piece in pieces:
        side = side_of(line_m, metric.fwd(piece.representative_point()))
        if side:
            by_side[side].append(piece)
    if not by_side[1] or not by_side[-1]:
        raise ValueError("the contact line does not divide the region into two sides")
    return {party: shapely.union_all(by_side[side]) for party, side in sides.items()}


#: metres: the line is simplified this much before buffering; the 16-segment arcs of a
#: buffer of 10 km or more are already off the true circle by ~12 m
_SIMPLIFY_M = 10.0


def _around(line_m: BaseGeometry, metres: float) -> BaseGeometry:
    """The projected line's buffer (simplified by 10 m first: cheaper, same to ~10 m)."""
    return line_m.simplify(_SIMPLIFY_M).buffer(metres, quad_segs=16)


def near_line(line: BaseGeometry, km: float, metric: Metric) -> BaseGeometry:
    """Everything within ``km`` of the line (lon/lat polygon)."""
    return metric.inv(_around(metric.fwd(line), km * 1000.0))


def band(
    line: BaseGeometry,
    area: BaseGeometry,
    km: float,
    metric: Metric,
    near: BaseGeometry | None = None,
) -> BaseGeometry:
    """The part of ``area`` within ``km`` of the line (a withdrawal band); ``near`` is
    :func:`near_line` for that distance when the caller already has it."""
    return shapely.intersection(near if near is not None else near_line(line, km, metric), area)


def buffer_zone(
    line: BaseGeometry, width_km: float, clip: BaseGeometry | None, metric: Metric
) -> BaseGeometry:
    """A zone ``width_km`` wide centred on the line, clipped to ``clip`` if given."""
    zone = metric.inv(_around(metric.fwd(line), width_km * 500.0))
    return zone if clip is None else shapely.intersection(zone, clip)


def circle(lon: float, lat: float, radius_km: float) -> BaseGeometry:
    """A circle (128-gon) of ``radius_km`` around (lon, lat), drawn in a projection
    centred on the point."""
    local = Metric(lon, lat)
    return local.inv(shapely.Point(0.0, 0.0).buffer(radius_km * 1000.0, quad_segs=32))


def sectors(
    line: BaseGeometry,
    length_km: float,
    half_width_km: float,
    clip: BaseGeometry | None,
    metric: Metric,
) -> list[BaseGeometry]:
    """Cut the corridor within ``half_width_km`` of the line into sectors of about
    ``length_km`` along it, in line order: each sector is the part of the corridor
    nearest to its stretch of line (Voronoi cells of points every ~1 km, merged)."""
    line_m = metric.fwd(line)
    corridor = _around(line_m, half_width_km * 1000.0)
    pts, labels = _stations(line_m, length_km * 1000.0)
    cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=corridor, ordered=True)
    cell_arr = np.asarray(cells.geoms, dtype=object)
    out: list[BaseGeometry] = []
    for lab in range(int(labels.max()) + 1):
        merged = shapely.union_all(cell_arr[labels == lab])
        piece = metric.inv(shapely.intersection(merged, corridor))
        if clip is not None:
            piece = shapely.intersection(piece, clip)
        if not piece.is_empty:
            out.append(piece)
    return out


def _stations(line_m: BaseGeometry, length_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Points about every km along each part of the line, labelled by sector number."""
    parts: Sequence[BaseGeometry] = list(getattr(line_m, "geoms", [line_m]))
    coords: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    first = 0
    for part in parts:
        n_sec = max(1, int(round(part.length / length_m)))
        n_pts = max(2 * n_sec, int(part.length // 1000.0) + 1)
        s = np.linspace(0.0, part.length, n_pts)
        pts = shapely.line_interpolate_point(part, s)
        coords.append(shapely.get_coordinates(pts))
        labels.append(first + np.minimum((s / part.length * n_sec).astype(int), n_sec - 1))
        first += n_sec
    xy = np.vstack(coords)
    lab = np.concatenate(labels)
    _, keep = np.unique(np.round(xy, 3), axis=0, return_index=True)
    keep.sort()
    return xy[keep], lab[keep]
