"""The ``deconflict`` workload: for each query volume, the volumes it meets in footprint
(``shapely.intersects``, boundary contact counts), altitude and time (closed intervals).

Uses truceline's public core, ``truceline.deconfliction.search.conflict_pairs`` (grid
join on 4D boxes by duration class, then the exact test, both on two threads); the
output is the canonical ``query_id,conflicts`` CSV.

Reading: the bench's GeoJSON is written one feature per line; one regular expression
over the file takes each feature's properties and geometry text. The coordinates of
every Polygon are gathered into one buffer, their rings and polygons told apart by the
depth of the brackets (numpy over the bytes), the numbers parsed by Arrow's CSV reader,
and the geometries built at once by ``shapely.from_ragged_array``; the other geometries
(MultiPolygons) go through ``shapely.from_geojson``, and any file not in that layout
through ``json``. Both paths give the same floats as ``json.loads``.

Figures: ``benchmarks/README.md``.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely

from truceline.deconfliction.search import Boxes, conflict_pairs

__all__ = ["compute", "load", "read_volumes", "write"]

#: one feature per line, as the bench writes them: its properties and geometry text
_FEATURE = re.compile(
    rb'^\{"type": "Feature", "properties": \{"id": "([^"]*)", "party": "[^"]*", '
    rb'"activity": "[^"]*", "shape": "[^"]*", "alt_min_m": (-?[0-9.]+), '
    rb'"alt_max_m": (-?[0-9.]+), "t_start": "([^"]*)", "t_end": "([^"]*)"\}, '
    rb'"geometry": (\{[^\n]*\})\},?$',
    re.MULTILINE,
)
_POLY = b'{"type":"Polygon","coordinates":'
#: brackets and commas of coordinate text -> line ends: one number per line
_NUMBERS = bytes.maketrans(b"[],", b"\n\n\n")
_NOT_BRACKETS = b"0123456789.-+eE,"


def _epoch(iso: Sequence[bytes]) -> np.ndarray:
    """'YYYY-MM-DDTHH:MM:SSZ' -> epoch seconds."""
    return np.array(iso, dtype="S19").astype("datetime64[s]").astype(np.int64)


def _ragged(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Polygon coordinate texts, one a line (``[[[x,y],...],...]``) -> coordinates,
    ring offsets and polygon offsets, as ``shapely.from_ragged_array`` takes them.

    The nesting depth of each bracket says what it closes (a point at depth 3, a ring
    at 2, a polygon at 1), read on the brackets alone (a tenth of the text); the numbers
    are read by Arrow's CSV reader, one a line."""
    b = np.frombuffer(blob.translate(None, _NOT_BRACKETS), np.uint8)
    opening, closing = b == ord("["), b == ord("]")
    depth = np.cumsum(opening.view(np.int8) - closing.view(np.int8), dtype=np.int8)
    closes = depth[closing] + 1  # the depth of the list each ']' closes
    points = np.cumsum(closes == 3)  # points closed so far, at each ']'
    rings = np.cumsum(closes == 2)
    ring_off = np.r_[0, points[closes == 2]]
    poly_off = np.r_[0, rings[closes == 1]]
    opts = pacsv.ConvertOptions(column_types={"c": pa.float64()})
    one = pacsv.ReadOptions(use_threads=False)
    nums = pacsv.read_csv(
        io.BytesIO(b"c\n" + blob.translate(_NUMBERS)), read_options=one, convert_options=opts
    ).column(0)
    xy = np.concatenate([c.to_numpy() for c in nums.chunks]).reshape(-1, 2)
    return xy, ring_off, poly_off


def _polygons(geoms: Sequence[bytes]) -> np.ndarray:
    """Shapely geometries of GeoJSON geometry texts: Polygons built from one ragged
    array, anything else by ``shapely.from_geojson``."""
    out = np.empty(len(geoms), dtype=object)
    fast = np.fromiter((g.startswith(_POLY) for g in geoms), bool, len(geoms))
    if fast.any():
        sel = b"\n".join(g[len(_POLY) : -1] for g, k in zip(geoms, fast, strict=True) if k)
        xy, ring_off, poly_off = _ragged(sel)
        if len(poly_off) - 1 != int(fast.sum()) or 2 * ring_off[-1] != xy.size:
            raise ValueError("unexpected Polygon coordinate text")
        out[fast] = shapely.from_ragged_array(
            shapely.GeometryType.POLYGON, xy, (ring_off, poly_off)
        )
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
    rows = _FEATURE.findall(data)
    if not rows or len(rows) != data.count(b'{"type": "Feature"'):
        return _read_slow(data)
    cols = list(zip(*rows, strict=True))
    try:
        geom = _polygons(cols[5])
    except ValueError:  # coordinate text not as the bench writes it
        return _read_slow(data)
    return {
        "id": np.array(cols[0]).astype(str),
        "alt_min_m": np.array(cols[1]).astype(np.float64),
        "alt_max_m": np.array(cols[2]).astype(np.float64),
        "ts": _epoch(cols[3]),
        "te": _epoch(cols[4]),
        "geom": geom,
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
