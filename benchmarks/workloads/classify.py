"""The ``classify`` workload of ../shared/bench on truceline's zone index.

``load`` reads the observations (Parquet) and parses the zones into shapely
geometries, as the peers do before their clock starts; ``compute`` builds a
:class:`truceline.geo.zones.ZoneIndex` (raster prefilter, KD-tree over the
contact line) and classifies every observation; ``write`` renders the canonical
CSV (``id,sector,party,dist_km,bands,npp``).  The distance is signed the
benchmark's way: positive when the point's party is ``B``, negative otherwise.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import shapely

from truceline.geo.projection import Projector
from truceline.geo.zones import Classification, ZoneIndex

__all__ = ["Inputs", "compute", "load", "write"]

# The benchmark's metric CRS: +proj=aeqd +lat_0=48.5 +lon_0=35 (common.METRIC_CRS).
LAT0, LON0 = 48.5, 35.0
NPP = "npp-zaporizhzhia"
POSITIVE_PARTY = "B"  # the benchmark's sign convention for dist_km


@dataclass
class Inputs:
    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    features: list[dict[str, Any]]


def load(work: str, limit: int | None) -> Inputs:
    t = pq.read_table(os.path.join(work, "observations.parquet"), columns=["id", "lon", "lat"])
    if limit:
        t = t.slice(0, limit)
    with open(os.path.join(work, "zones.geojson")) as f:
        feats = json.load(f)["features"]
    geoms = shapely.from_geojson([json.dumps(ft["geometry"]) for ft in feats])
    features = [{**ft, "geometry": g} for ft, g in zip(feats, geoms, strict=True)]
    col = {c: t.column(c).to_numpy() for c in ("id", "lon", "lat")}
    return Inputs(col["id"], col["lon"], col["lat"], features)


def compute(inputs: Inputs) -> tuple[ZoneIndex, Classification]:
    index = ZoneIndex.from_features(inputs.features, Projector(LAT0, LON0))
    return index, index.classify(inputs.lon, inputs.lat)


def _names(mask: np.ndarray, ids: list[str]) -> np.ndarray:
    """Boolean matrix -> ';'-joined ids per row (ids in sorted order)."""
    if not ids:
        return np.full(len(mask), "", dtype=object)
    code = mask.astype(np.int64) @ (1 << np.arange(len(ids), dtype=np.int64))
    order = np.argsort(code, kind="stable")
    s = code[order]
    new = np.r_[True, s[1:] != s[:-1]] if len(s) else np.zeros(0, bool)
    inv = np.empty(len(code), dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    names = [";".join(b for k, b in enumerate(ids) if int(u) >> k & 1) for u in s[new]]
    return np.array(names, dtype=object)[inv]


def write(path: str, inputs: Inputs, result: tuple[ZoneIndex, Classification]) -> int:
    import pandas as pd

    index, c = result
    sector_ids = np.array(["", *index.sector_ids], dtype=object)
    parties = np.array(["", *index.parties], dtype=object)
    party = parties[c.party + 1]
    band_cols = [j for j, k in enumerate(index.zone_kinds) if k == "withdrawal_band"]
    bands = _names(c.zones[:, band_cols], [index.zone_ids[j] for j in band_cols])
    npp = (
        c.zones[:, index.zone_ids.index(NPP)]
        if NPP in index.zone_ids
        else np.zeros(len(party), bool)
    )
    dist = np.where(party == POSITIVE_PARTY, c.dist_km, -c.dist_km)
    df = pd.DataFrame(
        {
            "id": inputs.ids,
            "sector": sector_ids[c.sector + 1],
            "party": party,
            "dist_km": np.round(dist, 4),
            "bands": bands,
            "npp": npp.astype(np.int8),
        }
    )
    df.sort_values("id").to_csv(path, index=False, float_format="%.4f", lineterminator="\n")
    return len(df)
