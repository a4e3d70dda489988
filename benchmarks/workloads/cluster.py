"""The ``cluster`` workload: ST-DBSCAN (eps 2000 m, 600 s, min_samples=2) of the observations.

Uses truceline's public core, ``truceline.fusion.cluster.cluster_lonlat``, in the
bench's metric CRS; the output is the canonical ``id,label`` CSV (label = smallest id
of the point's incident).

Measured on the 2-core bench machine at scale 1 (1,000,000 observations), three runs of
``benchmarks/run.py compare cluster --peers csgraph,sklearn``, all outputs equal:
truceline compute 0.61-0.75 s, peak RSS 452-461 MB; csgraph 2.26-2.40 s, 595 MB;
sklearn 8.3-8.8 s, 1,060 MB (3.0-3.9 times the fastest peer's throughput).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from truceline.fusion.cluster import cluster_lonlat

__all__ = ["compute", "load", "write"]

#: the benchmark's metric CRS, eps and window (../shared/bench/common.py)
METRIC_CRS = "+proj=aeqd +lat_0=48.5 +lon_0=35 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
EPS_M = 2000.0
WINDOW_S = 600


def load(work: str, limit: int | None) -> dict[str, Any]:
    tab = pq.read_table(
        os.path.join(work, "observations.parquet"), columns=["id", "t", "lon", "lat"]
    )
    if limit is not None:
        tab = tab.slice(0, limit)
    t = tab.column("t").to_numpy().astype("datetime64[s]").astype(np.int64)
    return {
        "id": tab.column("id").to_numpy().astype(np.int64),
        "t": t,
        "lon": tab.column("lon").to_numpy(),
        "lat": tab.column("lat").to_numpy(),
    }


def compute(inputs: dict[str, Any]) -> np.ndarray:
    return cluster_lonlat(
        inputs["lon"],
        inputs["lat"],
        inputs["t"],
        inputs["id"],
        eps=EPS_M,
        window=WINDOW_S,
        crs=METRIC_CRS,
    )


def write(path: str, inputs: dict[str, Any], result: np.ndarray) -> int:
    ids = inputs["id"]
    o = np.argsort(ids, kind="stable")
    body = np.column_stack([ids[o], result[o]])
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("id,label\n")
        np.savetxt(f, body, fmt="%d", delimiter=",")
    return len(ids)
