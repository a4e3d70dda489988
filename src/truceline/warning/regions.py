"""Administrative regions of event points, from a boundaries file (GeoJSON).

The regions are the polygons of a GeoJSON FeatureCollection, each named by one of
its properties (``name_en``, ``name``, ``shapeName`` or ``NAME_1``, whichever comes
first, unless a field is given). Points are placed in all at once with a shapely
STRtree; a point in no region gets the empty name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError

__all__ = ["NAME_FIELDS", "Regions", "read_regions"]

#: property names tried, in order, for a region's name
NAME_FIELDS = ("name_en", "name", "shapeName", "NAME_1")


@dataclass(frozen=True, slots=True)
class Regions:
    """Named polygons; ``names[i]`` is the name of ``geoms[i]``."""

    names: tuple[str, ...]
    geoms: npt.NDArray[np.object_]
    source: str

    def assign(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """The region name of each point ('' outside every region, or without a place).

        A point on a shared border goes to the region listed first.
        """
        import shapely
        from shapely.strtree import STRtree

        x = np.asarray(lon, dtype=np.float64)
        y = np.asarray(lat, dtype=np.float64)
        out = np.full(x.shape, "", dtype=object)
        ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        if ok.size and len(self.names):
            pts = shapely.points(x[ok], y[ok])
            pi, gi = STRtree(self.geoms).query(pts, predicate="intersects")
            order = np.lexsort((gi, pi))  # per point, the first region listed
            pi, gi = pi[order], gi[order]
            first = np.r_[True, pi[1:] != pi[:-1]]
            out[ok[pi[first]]] = np.asarray(self.names, dtype=object)[gi[first]]
        return np.asarray(out.astype(str))


def read_regions(path: Path, name_field: str | None = None) -> Regions:
    """Read a GeoJSON FeatureCollection of (multi)polygons named by a property."""
    import shapely

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: cannot read as GeoJSON: {exc}") from exc
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list) or not features:
        raise InputError(f"{path}: not a GeoJSON FeatureCollection with features")
    props = [f.get("properties") or {} for f in features if isinstance(f, dict)]
    field = name_field or next((n for n in NAME_FIELDS if all(n in p for p in props)), None)
    if field is None:
        keys = sorted({k for p in props for k in p})
        raise InputError(
            f"{path}: no region name field ({', '.join(NAME_FIELDS)}); pass one of: "
            f"{', '.join(keys) or 'none (the features have no properties)'}"
        )
    names, geoms = [], []
    for i, f in enumerate(features, start=1):
        p = (f.get("properties") if isinstance(f, dict) else None) or {}
        name = p.get(field)
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"{path}: feature {i}: property {field!r} is not a name")
        try:
            geom = shapely.from_geojson(json.dumps(f.get("geometry")))
        except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
            raise InputError(f"{path}: feature {i} ({name}): bad geometry: {exc}") from exc
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            kind = "none" if geom is None else geom.geom_type
            raise InputError(f"{path}: feature {i} ({name}): geometry is {kind}, not a polygon")
        names.append(name.strip())
        geoms.append(geom)
    return Regions(tuple(names), np.asarray(geoms, dtype=object), str(path))
