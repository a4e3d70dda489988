"""The theatre of a scenario: the agreement's geometry in metres, and point samplers.

Everything here works in a local azimuthal equidistant projection centred on the
contact line (metres), so that "3 km from the line" means 3 km. Samplers take a
seeded :class:`numpy.random.Generator` and draw vectorised batches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from truceline.domain.errors import AgreementError

__all__ = ["Band", "Theatre", "build_theatre"]

FloatArray = NDArray[np.float64]


class _ZoneLike(Protocol):
    id: str
    kind: str
    party: str | None
    weapon_class: str | None
    band_km: float | None
    geometry: Any
    bars: frozenset[str]


@dataclass(frozen=True, slots=True)
class Band:
    """A withdrawal band in metres: ``party`` may not keep ``weapon_class`` inside it."""

    id: str
    party: str
    weapon_class: str
    band_km: float
    geom: BaseGeometry


@dataclass(slots=True)
class Theatre:
    """The agreement's zones, projected to metres around the contact line."""

    parties: tuple[str, ...]
    line: BaseGeometry  # contact line (metres)
    control: dict[str, BaseGeometry]  # party -> held area (metres)
    sectors: list[tuple[str, BaseGeometry]]  # sectors the line crosses, along the line
    bands: list[Band]
    buffer: BaseGeometry | None
    _fwd: Transformer = field(repr=False)
    _inv: Transformer = field(repr=False)

    # -- projections ------------------------------------------------------------
    def to_lonlat(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        lon, lat = self._inv.transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def from_lonlat(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        x, y = self._fwd.transform(lon, lat)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def side_of(self, x: FloatArray, y: FloatArray) -> NDArray[np.int64]:
        """Index into ``parties`` of the area holding each point; -1 where none does."""
        out = np.full(len(x), -1, dtype=np.int64)
        for i, p in enumerate(self.parties):
            g = self.control.get(p)
            if g is not None:
                out[shapely.contains_xy(g, x, y)] = i
        return out

    # -- samplers -----------------------------------------------------------------
    def part(self, sector: int) -> BaseGeometry:
        """The stretch of the line inside ``sector`` (the whole line if it has none)."""
        part = self.line.intersection(self.sectors[sector][1])
        part = shapely.line_merge(part) if part.geom_type == "MultiLineString" else part
        if part.geom_type == "MultiLineString":  # keep the longest piece
            part = max(part.geoms, key=lambda g: g.length)
        if part.geom_type == "LineString" and part.length > 0:
            return part
        whole = self.line
        return max(whole.geoms, key=lambda g: g.length) if hasattr(whole, "geoms") else whole

    def near_line(
        self,
        rng: np.random.Generator,
        sector: int,
        offset_m: FloatArray,
        along_m: FloatArray | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """Points along the line inside ``sector`` (at ``along_m`` metres from the start of
        its stretch, uniform if not given), pushed across it by ``offset_m`` (signed)."""
        part = self.part(sector)
        n = len(offset_m)
        d = rng.uniform(0.0, part.length, n) if along_m is None else along_m
        d = np.clip(d, 60.0, max(60.0, part.length - 60.0))
        p0 = shapely.line_interpolate_point(part, d - 50.0)
        p1 = shapely.line_interpolate_point(part, d + 50.0)
        a, b = shapely.get_coordinates(p0), shapely.get_coordinates(p1)
        t = b - a
        norm = np.hypot(t[:, 0], t[:, 1])
        norm[norm == 0] = 1.0
        nx, ny = -t[:, 1] / norm, t[:, 0] / norm
        mid = (a + b) / 2.0
        return mid[:, 0] + nx * offset_m, mid[:, 1] + ny * offset_m

    def inside(
        self, rng: np.random.Generator, geom: BaseGeometry, n: int, min_line_m: float = 0.0
    ) -> tuple[FloatArray, FloatArray]:
        """``n`` uniform points inside ``geom`` and at least ``min_line_m`` from the line."""
        minx, miny, maxx, maxy = geom.bounds
        xs: list[FloatArray] = []
        ys: list[FloatArray] = []
        got = 0
        shapely.prepare(geom)
        for _ in range(200):
            x = rng.uniform(minx, maxx, 4 * n + 16)
            y = rng.uniform(miny, maxy, 4 * n + 16)
            ok = shapely.contains_xy(geom, x, y)
            if min_line_m > 0:
                ok &= shapely.distance(shapely.points(x, y), self.line) >= min_line_m
            xs.append(x[ok])
            ys.append(y[ok])
            got += int(ok.sum())
            if got >= n:
                break
        if got < n:
            raise AgreementError(f"scenario: cannot place {n} points inside a zone")
        return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def _projected(geom: BaseGeometry, fn: Callable[[FloatArray, FloatArray], Any]) -> BaseGeometry:
    def tr(xy: FloatArray) -> FloatArray:
        x, y = fn(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, tr)


def build_theatre(agreement: Any) -> Theatre:
    """The theatre of ``agreement`` (teammate A's ``Agreement``: parties and zones)."""
    zones: list[_ZoneLike] = list(agreement.zones)
    lines = [z.geometry for z in zones if z.kind == "contact_line"]
    if not lines:
        raise AgreementError(f"{agreement.id}: the scenario needs a contact_line zone")
    line_ll = shapely.line_merge(shapely.union_all(lines))
    c = line_ll.centroid
    crs = f"+proj=aeqd +lat_0={c.y:.6f} +lon_0={c.x:.6f} +datum=WGS84 +units=m"
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def proj(g: BaseGeometry) -> BaseGeometry:
        return _projected(g, fwd.transform)

    line = proj(line_ll)
    parties = tuple(p.id for p in agreement.parties)
    control = {
        z.party: proj(z.geometry) for z in zones if z.kind == "control" and z.party is not None
    }
    bands = [
        Band(z.id, z.party, z.weapon_class, float(z.band_km or 0.0), proj(z.geometry))
        for z in zones
        if z.kind == "withdrawal_band" and z.party is not None and z.weapon_class is not None
    ]
    if not control:  # fall back on each party's bands as its side of the line
        for p in parties:
            mine = [b.geom for b in bands if b.party == p]
            if mine:
                control[p] = shapely.union_all(mine)
    if len(control) < 2:
        raise AgreementError(
            f"{agreement.id}: the scenario needs control areas (or bands) for two parties"
        )
    buffers = [proj(z.geometry) for z in zones if z.kind == "buffer"]
    sectors = _line_sectors([(z.id, proj(z.geometry)) for z in zones if z.kind == "sector"], line)
    return Theatre(
        parties=parties,
        line=line,
        control=control,
        sectors=sectors,
        bands=bands,
        buffer=shapely.union_all(buffers) if buffers else None,
        _fwd=fwd,
        _inv=inv,
    )


def _line_sectors(
    sectors: list[tuple[str, BaseGeometry]], line: BaseGeometry
) -> list[tuple[str, BaseGeometry]]:
    """The sectors the line crosses for at least 5 km, ordered along the line."""
    crossed = [(sid, g) for sid, g in sectors if line.intersection(g).length >= 5000.0]
    if not crossed:  # no sectors: the whole line is one sector
        return [("line", line.buffer(30_000.0))]
    merged = shapely.line_merge(line)
    ref = merged.geoms[0] if hasattr(merged, "geoms") else merged

    def along(item: tuple[str, BaseGeometry]) -> float:
        return float(ref.project(item[1].intersection(line).centroid))

    return sorted(crossed, key=along)
