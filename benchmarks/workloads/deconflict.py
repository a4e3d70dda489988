"""The ``deconflict`` workload: for each query volume, the volumes it meets in footprint
(``shapely.intersects``, boundary contact counts), altitude and time (closed intervals).

Uses truceline's public core, ``truceline.deconfliction.search.conflict_pairs`` (grid
join on 4D boxes by duration class, then the exact test, both on two threads); the
output is the canonical ``query_id,conflicts`` CSV.

Reading: the bench's GeoJSON is written one feature per line; the properties are taken
with one regular expression over the file, and the coordinates of every single-ring
Polygon are gathered into one buffer, parsed by Arrow's CSV reader and built with
``shapely.linearrings``/``shapely.polygons``; the other geometries (MultiPolygons,
polygons with holes) and any file not in that layout go through ``shapely.from_geojson``.
Both paths give the same floats as ``json.loads``.

Figures: ``benchmarks/README.md``.
"""

from __future__ import annotations

import io
import json
import os
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely

from truceline.deconfliction.search import Boxes, conflict_pairs

__all__ = ["compute", "load", "read_volumes", "write"]

_PROPS = re.compile(
    rb'"properties": \{"id": "([^"]*)", "party": "[^"]*", "activity": "[^"]*", '
    rb'"shape": "[^"]*", "alt_min_m": (-?[0-9.]+), "alt_max_m": (-?[0-9.]+), '
    rb'"t_start": "([^"]*)", "t_end": "([^"]*)"\}'
)
_GEOM = b', "geometry": '
_POLY = b'{"type":"Polygon","coordinates":[[['


def _epoch(iso: list[bytes]) -> np.ndarray:
    """'YYYY-MM-DDTHH:MM:SSZ' -> epoch seconds."""
    return np.array(iso, dtype="S19").astype("datetime64[s]").astype(np.int64)


def _polygons(geoms: list[bytes]) -> np.ndarray:
    """Shapely geometries of GeoJSON geometry texts (each ending in ``}``)."""
    out = np.empty(len(geoms), dtype=object)
    fast = np.fromiter((g.startswith(_POLY) and b"]],[[" not in g for g in geoms), bool, len(geoms))
    sel = [g for g, k in zip(geoms, fast, strict=True) if k]
    if sel:
        nv = np.fromiter((g.count(b"],[") for g in sel), np.int64, len(sel)) + 1
        blob = b",".join(sel).replace(_POLY, b"").translate(None, b"[]{}").replace(b",", b"\n")
        opts = pacsv.ConvertOptions(column_types={"c": pa.float64()})
        nums = pacsv.read_csv(io.BytesIO(b"c\n" + blob), convert_options=opts).column(0)
        xy = nums.to_numpy().reshape(-1, 2)
        rings = shapely.linearrings(xy, indices=np.repeat(np.arange(len(sel)), nv))
        out[fast] = shapely.polygons(rings)
    rest = np.flatnonzero(~fast)
    if len(rest):
        out[rest] = shapely.from_geojson([geoms[i] for i in rest.tolist()])
    return out


def _read_slow(data: bytes) -> dict[str, Any]:
    feats = json.loads(data)["features"]
    p = [f["properties"] for f in feats]
    return {
        "id": np.array([x["id"] for x in p]),
        "alt_min_m": np.array([x["alt_min_m"] for x in p], dtype=np.float64),
        "alt_max_m": np.array([x["alt_max_m"] for x in p], dtype=np.float64),
        "ts": _epoch([x["t_start"].encode() for x in p]),
        "te": _epoch([x["t_end"].encode() for x in p]),
        "geom": shapely.from_geojson([json.dumps(f["geometry"]) for f in feats]),
    }


def read_volumes(path: str) -> dict[str, Any]:
    """A bench volumes file -> id, alt_min_m, alt_max_m, ts, te (epoch s), geom arrays."""
    with open(path, "rb") as f:
        data = f.read()
    lines = [ln for ln in data.split(b"\n") if ln.startswith(b'{"type": "Feature"')]
    parts = [ln.rstrip(b",").partition(_GEOM) for ln in lines]
    props = _PROPS.findall(data)
    if len(props) != len(lines) or not all(p[1] for p in parts) or not lines:
        return _read_slow(data)
    cols = list(zip(*props, strict=True))
    return {
        "id": np.array(cols[0]).astype(str),
        "alt_min_m": np.array(cols[1]).astype(np.float64),
        "alt_max_m": np.array(cols[2]).astype(np.float64),
        "ts": _epoch(list(cols[3])),
        "te": _epoch(list(cols[4])),
        "geom": _polygons([p[2][:-1] for p in parts]),
    }


def load(work: str, limit: int | None) -> dict[str, Any]:
    vol = read_volumes(os.path.join(work, "volumes.geojson"))
    q = read_volumes(os.path.join(work, "queries.geojson"))
    if limit is not None:
        q = {k: v[:limit] for k, v in q.items()}
    return {"vol": vol, "q": q}


def compute(inputs: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    v, q = inputs["vol"], inputs["q"]
    vb = Boxes.of(v["geom"], v["ts"], v["te"], v["alt_min_m"], v["alt_max_m"])
    qb = Boxes.of(q["geom"], q["ts"], q["te"], q["alt_min_m"], q["alt_max_m"])
    return conflict_pairs(qb, q["geom"], vb, v["geom"])


def write(path: str, inputs: dict[str, Any], result: tuple[np.ndarray, np.ndarray]) -> int:
    qids, vids = inputs["q"]["id"], inputs["vol"]["id"]
    qi, vi = result
    names = vids[vi]
    # conflicts of each query, volume ids in ascending (text) order
    o = np.lexsort((names, qi))
    qi, names = qi[o], names[o]
    cuts = np.searchsorted(qi, np.arange(len(qids) + 1))
    rows = [";".join(names[cuts[k] : cuts[k + 1]].tolist()) for k in range(len(qids))]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("query_id,conflicts\n")
        for k in np.argsort(qids, kind="stable").tolist():
            f.write(f"{qids[k]},{rows[k]}\n")
    return len(qids)
