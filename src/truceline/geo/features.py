"""Zone features (GeoJSON, properties ``{id, kind, party, weapon_class, band_km}``)
read into typed records with shapely geometries, refusing bad ones by name."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from truceline.domain.errors import InputError, Problem
from truceline.geo.errors import geo_errors

__all__ = ["LINE_KINDS", "POLYGON_KINDS", "ZONE_KINDS", "ZoneFeature", "read_features"]

POLYGON_KINDS = ("control", "sector", "withdrawal_band", "buffer", "exclusion", "withdrawal_area")
LINE_KINDS = ("contact_line",)
# Kinds whose geometry may be either (a withdrawal line, or the area behind it).  Other
# kinds an agreement may add are accepted with any geometry; the index treats their
# polygons like the zone kinds above and ignores their lines.
ZONE_KINDS = (*LINE_KINDS, *POLYGON_KINDS, "withdrawal_line")
_POLYGONAL = ("Polygon", "MultiPolygon")
_LINEAR = ("LineString", "MultiLineString")


@dataclass(frozen=True)
class ZoneFeature:
    id: str
    kind: str
    party: str | None
    weapon_class: str | None
    band_km: float | None
    geometry: BaseGeometry  # lon/lat

    @property
    def polygonal(self) -> bool:
        return self.geometry.geom_type in _POLYGONAL


def _geometry(raw: Any, where: str) -> BaseGeometry:
    if isinstance(raw, BaseGeometry):
        return raw
    if not isinstance(raw, Mapping):
        raise InputError(
            f"{where}: geometry missing", [Problem("geometry missing", field="geometry")]
        )
    with geo_errors(where):
        g = shapely.from_geojson(json.dumps(raw))
    if not isinstance(g, BaseGeometry):
        raise InputError(f"{where}: unreadable geometry")
    return g


def _one(n: int, feat: Any) -> ZoneFeature:
    where = f"zone feature {n}"
    if not isinstance(feat, Mapping) or not isinstance(feat.get("properties"), Mapping):
        raise InputError(f"{where}: not a GeoJSON feature with properties")
    p = feat["properties"]
    zid = p.get("id")
    if not isinstance(zid, str) or not zid:
        raise InputError(
            f"{where}: property 'id' must be a non-empty string",
            [Problem("missing id", line=n, field="id")],
        )
    where = f"zone {zid!r}"
    kind = p.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError(
            f"{where}: property 'kind' must be a non-empty string (e.g. {', '.join(ZONE_KINDS)})",
            [Problem(f"bad kind {kind!r}", line=n, field="kind", record=zid)],
        )
    g = _geometry(feat.get("geometry"), where)
    want = _LINEAR if kind in LINE_KINDS else _POLYGONAL if kind in POLYGON_KINDS else None
    if g.is_empty or (want is not None and g.geom_type not in want):
        reason = f"{kind} needs a {' or '.join(want or _POLYGONAL)}, got {g.geom_type}"
        raise InputError(
            f"{where}: {reason}", [Problem(reason, line=n, field="geometry", record=zid)]
        )
    party = p.get("party") or None
    if kind == "control" and not isinstance(party, str):
        raise InputError(
            f"{where}: a control zone needs its party",
            [Problem("party missing", line=n, field="party", record=zid)],
        )
    band = p.get("band_km")
    return ZoneFeature(
        zid,
        str(kind),
        None if party is None else str(party),
        p.get("weapon_class") or None,
        None if band is None else float(band),
        g,
    )


def read_features(features: Iterable[Any]) -> list[ZoneFeature]:
    """Typed zone records; :class:`InputError` names the first bad feature."""
    out = [_one(n, f) for n, f in enumerate(features, start=1)]
    seen: set[str] = set()
    for z in out:
        if z.id in seen:
            raise InputError(
                f"zone {z.id!r}: duplicate id", [Problem("duplicate id", field="id", record=z.id)]
            )
        seen.add(z.id)
    return out
