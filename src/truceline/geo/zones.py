"""The zone index: for many points at once, which reporting sector, which party's
controlled area, which withdrawal bands / buffer / exclusion zones, and how far
from the contact line.

Semantics (the same as the benchmark's shapely peer): containment is
``shapely.contains_xy`` (interior only; a point on a boundary is in neither
zone), planar on lon/lat; the distance is the Euclidean distance in metres
between the point and the contact line's straight segments, both projected with
the index's :class:`Projector`, reported in km.

* ``sector``: index into ``sector_ids`` (sorted) of the smallest id among the
  sectors containing the point, -1 if none.
* ``party``: index into ``parties`` (sorted) of the party whose control area
  contains the point, -1 if none.  Control areas normally do not overlap; if
  they do, the party sorted last wins (a fixed rule that names no party).
* ``zones``: boolean matrix (points x ``zone_ids``, sorted) over the other
  polygonal zones: withdrawal_band, buffer, exclusion, withdrawal_area, a
  polygonal withdrawal_line, and any further kind an agreement defines
  (``zone_kinds`` gives each column's kind).
* ``dist_km``: unsigned; ``inf`` when the index has no contact line, NaN for a
  NaN coordinate (which is in no zone). A dense contact line (``lines.COARSE_MIN``
  segments or more, as a line traced from a control map can be) is also simplified
  within ``line_tolerance_m`` (50 m): a point more than twice that from the simplified
  line is measured to it, within 50 m of its exact distance; the points nearer, so
  all within 50 m of the exact line, are measured on the exact line. Any other line
  is measured exactly (``line_tolerance_m=0``: every line).

How it is fast (a million points in about a second on two cores): a raster
prefilter answers containment for points away from zone boundaries and sends
only boundary cells to GEOS, deciding zones that share edges together
(:mod:`truceline.geo.raster`); the distance comes from a quadtree of candidate
segments, exact with no KD-tree search per point (:mod:`truceline.geo.lines`);
PROJ, GEOS and numpy release the GIL, so two threads project, test and measure
side by side, in chunks that keep memory flat.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from truceline.domain.errors import InputError
from truceline.geo.errors import geo_errors
from truceline.geo.features import ZoneFeature, read_features
from truceline.geo.lines import SegmentIndex
from truceline.geo.projection import Projector
from truceline.geo.raster import AMBIGUOUS, PolygonRaster

__all__ = ["Classification", "LAYER_KINDS", "ZoneIndex"]

# The one-of layers; every other polygonal zone is a column of the zone matrix.
LAYER_KINDS = ("sector", "control")
CHUNK = 1 << 18  # points per task at most
MIN_CHUNK = 1 << 16
DIST_CHUNK = 1 << 21  # points per distance tree
LINE_TOLERANCE_M = 50.0  # a dense contact line is simplified this much for far points
THREADS = 2
_BIG = np.iinfo(np.int32).max

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Classification:
    """Per point: sector index, party index, km to the contact line, zone matrix."""

    sector: IntArray
    party: IntArray
    dist_km: FloatArray
    zones: BoolArray


@dataclass(frozen=True)
class _Layers:
    raster: PolygonRaster
    sector: npt.NDArray[np.integer[Any]]  # per cell: sector index, -1 none, AMBIGUOUS
    party: npt.NDArray[np.integer[Any]]  # per cell: party index, -1 none, AMBIGUOUS
    bits: npt.NDArray[np.uint64]  # per cell: zone-matrix bits of the clean zones


class ZoneIndex:
    """Classifies points against an agreement's zones (see the module docstring)."""

    def __init__(
        self,
        zones: Sequence[ZoneFeature],
        projector: Projector | None = None,
        parties: Iterable[str] = (),
        max_cells: int = 1 << 20,
        line_cell_m: float = 500.0,
        line_tolerance_m: float = LINE_TOLERANCE_M,
    ) -> None:
        self.features = tuple(zones)
        polys = [z for z in self.features if z.polygonal]
        sectors = [z for z in polys if z.kind == "sector"]
        controls = [z for z in polys if z.kind == "control"]
        matrix = [z for z in polys if z.kind not in LAYER_KINDS]
        self.sector_ids = tuple(sorted(z.id for z in sectors))
        self.parties = tuple(sorted({*parties, *(str(z.party) for z in controls)}))
        self.zone_ids = tuple(sorted(z.id for z in matrix))
        kind = {z.id: z.kind for z in matrix}
        self.zone_kinds = tuple(kind[i] for i in self.zone_ids)
        if projector is None:
            projector = _default_projector(self.features)
        self.projector = projector
        layer = [*sectors, *controls, *matrix]
        self._geoms = np.array([z.geometry for z in layer], dtype=object)
        sidx = {s: i for i, s in enumerate(self.sector_ids)}
        pidx = {p: i for i, p in enumerate(self.parties)}
        zidx = {s: i for i, s in enumerate(self.zone_ids)}
        self._sector_of = np.array(
            [sidx.get(z.id, -1) if z.kind == "sector" else -1 for z in layer], dtype=np.int64
        )
        self._party_of = np.array(
            [pidx[str(z.party)] if z.kind == "control" else -1 for z in layer], dtype=np.int64
        )
        self._bit_of = np.array(
            [zidx[z.id] if z.kind not in LAYER_KINDS else -1 for z in layer], dtype=np.int64
        )
        self._words = max(1, -(-len(self.zone_ids) // 64))
        self._max_cells = max_cells
        self._built: _Layers | None = None  # the raster, made on first use (see _layers)
        self._lock = threading.Lock()
        self._line = self._contact_line(line_cell_m, line_tolerance_m)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_features(
        cls, features: Iterable[Any], projector: Projector | None = None, **kw: Any
    ) -> ZoneIndex:
        """From GeoJSON features (geometry as a GeoJSON dict or a shapely geometry)."""
        return cls(read_features(features), projector, **kw)

    @classmethod
    def from_agreement(cls, agreement: Any, projector: Projector | None = None) -> ZoneIndex:
        """From an ``Agreement`` (its ``zones_geojson()``; parties from the agreement)."""
        fc = agreement.zones_geojson()
        parties = [str(p.id) for p in getattr(agreement, "parties", ())]
        return cls.from_features(fc["features"], projector, parties=parties)

    def _contact_line(self, spacing: float, tolerance_m: float) -> SegmentIndex | None:
        lines = [z.geometry for z in self.features if z.kind == "contact_line"]
        if not lines:
            return None
        with geo_errors("contact line"):
            parts = shapely.get_parts(np.array(lines, dtype=object))
            coords = [shapely.get_coordinates(p) for p in parts]
        metric = [np.column_stack(self.projector.forward(c[:, 0], c[:, 1])) for c in coords]
        return SegmentIndex(metric, cell_m=spacing, tolerance_m=tolerance_m)

    # ------------------------------------------------------------------ queries
    def classify(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> Classification:
        """Classify points given as lon/lat arrays (degrees, EPSG:4326)."""
        x = np.ascontiguousarray(lon, dtype=np.float64).ravel()
        y = np.ascontiguousarray(lat, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise InputError(f"lon and lat differ in length: {len(x)} vs {len(y)}")
        n = len(x)
        sector = np.empty(n, np.int32)
        party = np.empty(n, np.int32)
        dist = np.empty(n, np.float64)
        zones = np.empty((n, len(self.zone_ids)), bool)
        # Chunks keep memory flat; two threads overlap the GIL-free parts (PROJ,
        # GEOS, numpy): the projection first, then containment beside the distance.
        size = max(MIN_CHUNK, min(CHUNK, -(-n // THREADS)))
        spans = [(s, min(n, s + size)) for s in range(0, n, size)]

        def contain(s: int, e: int) -> None:
            sector[s:e], party[s:e], zones[s:e] = self._contain(x[s:e], y[s:e])

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            projected = [pool.submit(self.projector.forward, x[s:e], y[s:e]) for s, e in spans]
            self._layers()  # built here (once) while the pool projects
            contained = [pool.submit(contain, s, e) for s, e in spans]
            px = np.concatenate([f.result()[0] for f in projected]) if n else np.zeros(0)
            py = np.concatenate([f.result()[1] for f in projected]) if n else np.zeros(0)
            for s in range(0, n, DIST_CHUNK):
                dist[s : s + DIST_CHUNK] = self._distance_km(
                    px[s : s + DIST_CHUNK], py[s : s + DIST_CHUNK]
                )
            for f in contained:
                f.result()
        return Classification(sector, party, dist, zones)

    def _layers(self) -> _Layers:
        """The raster and its per-cell answers, built on first use (thread-safe)."""
        with self._lock:
            if self._built is None:
                raster = PolygonRaster.build(self._geoms, self._max_cells)
                self._built = _Layers(
                    raster,
                    raster.one_of(self._sector_of),
                    raster.one_of(self._party_of),
                    raster.bitset(self._bit_of, self._words),
                )
            return self._built

    @property
    def line_error_km(self) -> float:
        """The most ``dist_km`` may differ from the exact distance (0: exact)."""
        return 0.0 if self._line is None else self._line.error_m / 1000.0

    def _distance_km(self, px: FloatArray, py: FloatArray) -> FloatArray:
        if self._line is None:
            return np.full(len(px), np.inf)
        return self._line.distance(px, py) / 1000.0

    def _contain(self, x: FloatArray, y: FloatArray) -> tuple[IntArray, IntArray, BoolArray]:
        layers = self._layers()
        key = layers.raster.grid.locate(x, y)
        sector = layers.sector[key]
        party = layers.party[key]
        bits = layers.bits[key]
        amb_s, amb_p = sector == AMBIGUOUS, party == AMBIGUOUS
        pts, zone = layers.raster.hits(self._geoms, key, x, y)
        v = self._sector_of[zone]
        m = v >= 0
        if m.any():
            cur = np.where(sector < 0, _BIG, sector)
            np.minimum.at(cur, pts[m], v[m].astype(np.int32))
            sector = np.where(cur == _BIG, -1, cur).astype(np.int32)
        v = self._party_of[zone]
        m = v >= 0
        if m.any():
            np.maximum.at(party, pts[m], v[m].astype(np.int32))
        v = self._bit_of[zone]
        m = v >= 0
        for w in range(self._words):
            mw = m & (v // 64 == w)
            np.bitwise_or.at(
                bits[:, w], pts[mw], np.left_shift(np.uint64(1), (v[mw] % 64).astype(np.uint64))
            )
        if amb_s.any():
            sector[amb_s] = self._exact(self._sector_of, x[amb_s], y[amb_s], "min")
        if amb_p.any():
            party[amb_p] = self._exact(self._party_of, x[amb_p], y[amb_p], "max")
        return sector.astype(np.int32), party.astype(np.int32), _unpack(bits, len(self.zone_ids))

    def _exact(
        self, value: npt.NDArray[np.int64], x: FloatArray, y: FloatArray, how: str
    ) -> IntArray:
        """Slow exact path for cells covered by several zones of a one-of layer."""
        best = np.full(len(x), _BIG if how == "min" else -1, dtype=np.int64)
        for z in np.flatnonzero(value >= 0):
            inside = shapely.contains_xy(self._geoms[z], x, y)
            red = np.minimum if how == "min" else np.maximum
            best = np.where(inside, red(best, value[z]), best)
        return np.where(best == _BIG, -1, best).astype(np.int32)


def _unpack(bits: npt.NDArray[np.uint64], nz: int) -> BoolArray:
    out = np.empty((len(bits), nz), dtype=bool)
    for j in range(nz):
        out[:, j] = (bits[:, j // 64] >> np.uint64(j % 64)) & np.uint64(1) != 0
    return out


def _default_projector(zones: Sequence[ZoneFeature]) -> Projector:
    if not zones:
        raise InputError("a zone index needs at least one zone")
    with geo_errors("zone bounds"):
        b = shapely.total_bounds(np.array([z.geometry for z in zones], dtype=object))
    return Projector.for_bounds(*(float(v) for v in b))
