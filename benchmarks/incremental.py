#!/usr/bin/env python3
"""Incremental fusion against re-clustering everything, on the bench observations.

    python benchmarks/incremental.py --work /tmp/truceline-bench --dir /tmp/tl-incr \
        [--limit N] [--new 10000]

Builds a SQLite workspace holding the bench's observations (or the first ``--limit``)
and the reference agreement (valid from the data's first day, as in ``pipeline.py``, so
that sides of the line are computed), fuses them all from scratch (``truceline fuse``
on an empty incident table: the cost of re-clustering everything through the
service), then ingests ``--new`` late reports
(copies of observations drawn across the whole period, moved by up to 500 m and 120 s,
from other sources) and fuses only those (the incremental path). Also times the pure
core clustering the whole store at once. Prints one JSON line with every figure.

Measured at scale 1 on the 2-core machine (SQLite), before the store layer (#16):
fusing the 1,000,000 observations from scratch 113 s (167,181 incidents); fusing
10,000 late reports into that store 4.8-8.6 s (8,674 incidents updated, 134 merged);
the pure core alone re-clusters all 1,010,000 in 1.3-1.9 s.

After it, on the same machine shared by eight busy sessions (load average 8-10, so
every figure is several times slower; the core's own time shows by how much):
from scratch 154.9 s (167,168 incidents: pairs within the projection's error of the
threshold are now judged geodesically) against the core's 11.4 s in the same run;
10,000 late reports 31.7 s (8,673 updated, 133 merged) against the core's 15.5 s.

After the bulk path (#16; load average 2.1-2.2, the base fused under the reference
agreement): 10,000 late reports 5.0 s, 4.9 s CPU (8,673 updated, 133 merged, their
sides recomputed) against the core's 1.36 s. With the chunked write (load average 14,
so compare CPU): 3.9 s CPU (8,673 updated, 133 merged) against the core's 1.38 s CPU.
With fuse's sides in its own transaction and the bulk reads (2026-12-01, load 6.6-7.4,
the base fused under the reference agreement, ``--reuse``): 3.24-3.27 s CPU against
3.28-3.31 s for main before it, back to back (8,673 updated, 133 merged).
Each figure is printed with its CPU time and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pipeline import agreement_copy

from truceline.fusion.cluster import cluster_xy
from truceline.geo.geodesy import degrees_per_metre
from truceline.geo.projection import Projector
from truceline.intake import write_observations
from truceline.service.agreements import load_agreement
from truceline.service.fusion import fuse
from truceline.service.ingest import ingest_files
from truceline.service.sources import ensure_sources
from truceline.service.workspace import create_workspace


def _table(src: pa.Table, rng: np.random.Generator | None) -> pa.Table:
    n = src.num_rows
    t = src.column("t").cast(pa.timestamp("s", "UTC")).cast(pa.int64()).to_numpy()
    lon, lat = src.column("lon").to_numpy(), src.column("lat").to_numpy()
    ids = src.column("id").to_numpy().astype(str)
    sid = src.column("source_id").to_numpy(zero_copy_only=False).astype(str)
    prefix = "obs-"
    if rng is not None:  # late reports of the same events from other sources
        ang, dist = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 500, n)
        dlon, dlat = degrees_per_metre(lat)
        lon, lat = lon + dist * np.sin(ang) * dlon, lat + dist * np.cos(ang) * dlat
        t = t + rng.integers(-120, 121, n)
        sid = np.char.add("late-", sid)
        prefix = "late-"
    wc = src.column("weapon_class").to_numpy(zero_copy_only=False)
    return pa.table(
        {
            "source_id": sid, "source_type": src.column("source_type"),
            "client_id": np.char.add(prefix, ids), "t": t, "t_unc_s": np.zeros(n),
            "lon": np.round(lon, 6), "lat": np.round(lat, 6), "radius_m": src.column("radius_m"),
            "kind": src.column("kind"), "weapon_class": [w or None for w in wc],
            "count": np.ones(n, np.int64), "credibility": np.full(n, 3, np.int64),
        }
    )  # fmt: skip


def _copy_db(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", default="/tmp/truceline-bench")
    ap.add_argument("--dir", default="/tmp/tl-incremental")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--new", type=int, default=10_000)
    ap.add_argument("--reuse", action="store_true", help="start from the fused base kept by a run")
    a = ap.parse_args()
    out: dict[str, object] = {}
    src = pq.read_table(Path(a.work) / "observations.parquet")
    if a.limit:
        src = src.slice(0, a.limit)
    rng = np.random.default_rng(7)
    late = src.take(np.sort(rng.choice(src.num_rows, a.new, replace=False)))
    root = Path(a.dir)
    base_db = root / "base.db"
    base_tab = _table(src, None)
    if a.reuse and base_db.is_file():
        shutil.rmtree(root / "ws", ignore_errors=True)
        _copy_db(base_db, root / "ws" / "truceline.db")
    else:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        write_observations(root / "base.parquet", base_tab)
    late_tab = _table(late, rng)
    write_observations(root / "late.parquet", late_tab)
    ws = create_workspace(root / "ws")
    if not (a.reuse and base_db.is_file()):  # the reference agreement, as in pipeline.py
        first = min(pc.min(t).as_py() for t in (base_tab.column("t"), late_tab.column("t")))
        load_agreement(ws, agreement_copy(int(first), root / "agreement"))
    # the bench's monitors and sensors are registered before they submit (as a mission does)
    with ws.engine.begin() as conn:
        for tab in (src, late_tab):
            ids, types = tab.column("source_id").to_pylist(), tab.column("source_type").to_pylist()
            ensure_sources(conn, set(zip(ids, types, strict=True)))

    def timed(name: str, f):  # type: ignore[no-untyped-def]
        t0, c0, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
        r = f()
        out[name] = round(time.perf_counter() - t0, 3)
        out[f"{name}_cpu"] = round(time.process_time() - c0, 3)
        out[f"{name}_load"] = [round(load, 1), round(os.getloadavg()[0], 1)]
        print(
            f"{name}: wall {out[name]} s, cpu {out[f'{name}_cpu']} s, load average "
            f"{out[f'{name}_load'][0]} -> {out[f'{name}_load'][1]}",
            file=sys.stderr,
            flush=True,
        )
        return r

    if not (a.reuse and base_db.is_file()):
        timed("ingest_base", lambda: ingest_files(ws, [root / "base.parquet"]))
        full = timed("fuse_all_from_scratch", lambda: fuse(ws))
        out["base_observations"], out["base_incidents"] = full.observations_fused, full.new
        ws.engine.dispose()
        _copy_db(root / "ws" / "truceline.db", base_db)
    timed("ingest_new", lambda: ingest_files(ws, [root / "late.parquet"]))
    inc = timed("fuse_incremental", lambda: fuse(ws))
    out.update(new_observations=inc.observations_fused, new=inc.new, updated=inc.updated,
               merged=inc.merged)  # fmt: skip
    both = pa.concat_tables([base_tab, late_tab])  # the very reports ingested
    lon, lat = both.column("lon").to_numpy(), both.column("lat").to_numpy()

    def core() -> object:
        p = Projector(48.0, 35.0)
        x, y = p.forward(lon, lat)
        t = both.column("t").to_numpy()
        return cluster_xy(x, y, t, np.arange(len(t)), eps=2000.0, window=600)

    timed("core_cluster_everything", core)
    print(json.dumps(out))
    ws.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
