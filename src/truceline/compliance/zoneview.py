"""Classifying incidents against an agreement's zones, once per batch.

Uses the geo package's :class:`ZoneIndex` (one vectorised ``classify`` call per
batch). When that package is not installed yet, a plain shapely 2 fallback
computes the same columns (slower: no spatial index, distance in a local
equirectangular frame), so compliance does not depend on its arrival.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from truceline.compliance.rules.base import ZoneView

__all__ = ["POLYGON_ZONE_KINDS", "zone_view"]

POLYGON_ZONE_KINDS = ("withdrawal_band", "buffer", "exclusion")
_CACHE: list[tuple[str, Any]] = []  # (digest of the zones, index): the last few built
_BY_OBJECT: list[tuple[Any, Any]] = []  # (agreement, index): held strongly, so ids stay unique


def zone_view(agreement: Any, lon: npt.ArrayLike, lat: npt.ArrayLike) -> ZoneView:
    """The zone classification of points (lon/lat arrays) under ``agreement``."""
    x = np.asarray(lon, dtype=np.float64)
    y = np.asarray(lat, dtype=np.float64)
    try:
        zones_mod = importlib.import_module("truceline.geo.zones")
        known = importlib.import_module("truceline.geo.features").ZONE_KINDS
    except ImportError:
        return _fallback(agreement, x, y)
    index = next((ix for a, ix in _BY_OBJECT if a is agreement), None)
    if index is None:
        index = _index_for(agreement, zones_mod, known)
        _BY_OBJECT[:] = [(agreement, index), *_BY_OBJECT[:3]]
    c = index.classify(x, y)
    parties, zone_ids, sector_ids = list(index.parties), list(index.zone_ids), index.sector_ids
    return ZoneView(c.party, parties, c.dist_km, zone_ids, c.zones, c.sector, sector_ids)


def _index_for(agreement: Any, zones_mod: Any, known: Any) -> Any:
    """The index of the agreement's zones, shared by equal zones (a digest of their GeoJSON).

    Only the kinds the index knows are given to it: a zone it does not classify (an area to
    vacate, say) is tested by the rule that uses it."""
    feats = [f for f in agreement.zones_geojson()["features"] if f["properties"]["kind"] in known]
    parties = sorted(str(p.id) for p in agreement.parties)
    key = hashlib.sha256(json.dumps([feats, parties], sort_keys=True).encode()).hexdigest()
    index = next((ix for k, ix in _CACHE if k == key), None)
    if index is None:
        index = zones_mod.ZoneIndex.from_features(feats, parties=parties)
        _CACHE[:] = [(key, index), *_CACHE[:3]]
    return index


def _fallback(agreement: Any, x: np.ndarray, y: np.ndarray) -> ZoneView:
    n = len(x)
    control = [z for z in agreement.zones if z.kind == "control" and z.party]
    parties = sorted({str(z.party) for z in control})
    party = np.full(n, -1, dtype=np.int64)
    for z in control:
        shapely.prepare(z.geometry)
        party[(party < 0) & shapely.contains_xy(z.geometry, x, y)] = parties.index(str(z.party))
    zs = sorted((z for z in agreement.zones if z.kind in POLYGON_ZONE_KINDS), key=lambda z: z.id)
    zones = np.zeros((n, len(zs)), dtype=bool)
    for j, z in enumerate(zs):
        shapely.prepare(z.geometry)
        zones[:, j] = shapely.contains_xy(z.geometry, x, y)
    lines = [z.geometry for z in agreement.zones if z.kind == "contact_line"]
    dist = np.full(n, np.inf)
    if lines and n:
        line = shapely.union_all(lines)
        lat0 = float(np.nanmean(y))
        kx = 111.32 * np.cos(np.radians(lat0))
        line_km = shapely.transform(line, lambda c: c * np.array([kx, 110.57]))
        pts = shapely.points(x * kx, y * 110.57)
        dist = np.asarray(shapely.distance(pts, line_km), dtype=np.float64)
    sectors = sorted((z for z in agreement.zones if z.kind == "sector"), key=lambda z: z.id)
    sector = np.full(n, -1, dtype=np.int64)
    for k, z in enumerate(sectors):
        sector[(sector < 0) & shapely.contains_xy(z.geometry, x, y)] = k
    ids = [z.id for z in sectors]
    return ZoneView(party, parties, dist, [z.id for z in zs], zones, sector, ids)
