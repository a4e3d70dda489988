#!/usr/bin/env python3
"""The whole path of a day's observations through the store, stage by stage.

    .venv/bin/python benchmarks/pipeline.py --n 1000000 \\
        --db sqlite --db postgresql+psycopg://postgres@127.0.0.1:5432/postgres

For each ``--db`` (``sqlite`` is a fresh file; a PostgreSQL URL names the server: a
fresh database is created on it and dropped afterwards), in this one run: ingest of
the bench's observations file (parse, validate, dedupe, canonicalise, ledger, store),
fuse, check (against ``examples/reference-2025`` made valid from the data's first
day), the daily report of the busiest day, and a re-ingest of the same file (all
duplicates). Each stage runs in its own process, so its peak RSS and CPU time (all
threads, user and system) are its own; the load average is printed with the table. The
pure cores run once on the same data, in memory: parse and validate alone, the
clustering core, classification and rules.

The input is the first N rows of ``observations.parquet`` in ``--work`` (the bench's
file; N above its size repeats it with new ids, a day later each time round).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
AGREEMENT = ROOT / "examples" / "reference-2025"
STAGES = ("ingest", "fuse", "check", "report", "re-ingest")
DAY = 86_400


# -- input ------------------------------------------------------------------------


def make_input(work: Path, n: int, out: Path) -> int:
    """The first ``n`` rows of the bench file (repeated with new ids and times if short)."""
    src = pq.read_table(work / "observations.parquet")
    parts, done, k = [], 0, 0
    while done < n:
        part = src.slice(0, min(src.num_rows, n - done))
        if k:
            shift = pa.scalar(k * (int(src.num_rows) + 1), pa.int64())
            ids = pc.add(part.column("id"), shift)
            t = pc.cast(pc.add(pc.cast(part.column("t"), pa.int64()), k * DAY * 1000), pa.int64())
            part = part.set_column(0, "id", ids).set_column(
                1, "t", pc.cast(t, pa.timestamp("ms", "UTC"))
            )
        parts.append(part)
        done += part.num_rows
        k += 1
    pq.write_table(pa.concat_tables(parts), out, row_group_size=100_000)
    return done


def agreement_copy(first_t: int, out: Path) -> Path:
    """The reference agreement, valid from the day of ``first_t`` (the bench's days are
    before the reference's own start)."""
    shutil.copytree(AGREEMENT, out)
    day = datetime.fromtimestamp(first_t, UTC).date().isoformat()
    toml = out / "agreement.toml"
    lines = toml.read_text(encoding="utf-8").splitlines()
    lines = [f"valid_from = {day}" if ln.startswith("valid_from") else ln for ln in lines]
    toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return toml


# -- one stage, in a child process ----------------------------------------------


def _stage(name: str, root: Path, db: str, data: Path, out: Path) -> dict[str, Any]:
    from truceline.service.compliance import check
    from truceline.service.fusion import fuse
    from truceline.service.ingest import ingest_files
    from truceline.service.reports import busiest_day, daily_report
    from truceline.service.workspace import open_workspace

    ws = open_workspace(db, cwd=root)
    t0 = time.perf_counter()
    c0 = _cpu_s()
    info: dict[str, Any] = {}
    if name in ("ingest", "re-ingest"):
        rep = ingest_files(ws, [data])
        info = {"records": rep.read, "accepted": rep.accepted, "duplicates": rep.duplicates}
    elif name == "fuse":
        res = fuse(ws)
        info = {"records": res.observations_fused, "incidents": res.new}
    elif name == "check":
        chk = check(ws)
        info = {"records": chk.incidents, "findings": len(chk.new)}
        info.update({f"{k}_s": round(v, 2) for k, v in chk.timings.items()})
    elif name == "report":
        day = busiest_day(ws)
        daily_report(ws, day, out)
        info = {"records": 1, "day": day.isoformat()}
    info["wall_s"] = time.perf_counter() - t0
    info["cpu_s"] = _cpu_s() - c0
    info["peak_rss_mb"] = _peak_rss_mb()
    ws.engine.dispose()
    return info


def _cpu_s() -> float:
    """CPU seconds of this process, every thread, user and system."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_rss_mb() -> int:
    """This process's own peak RSS (``VmHWM``: unlike ``ru_maxrss`` it starts afresh at exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def run_stage(name: str, root: Path, db: str, data: Path, out: Path) -> dict[str, Any]:
    """Run one stage in a fresh interpreter; its result with its own peak RSS."""
    cmd = [sys.executable, __file__, "--stage", name, "--root", str(root), "--db", db]
    cmd += ["--data", str(data), "--out", str(out)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        return {"error": f"exit {proc.returncode}", "peak_rss_mb": "?"}
    rec: dict[str, Any] = json.loads(lines[-1])
    return rec


# -- databases ----------------------------------------------------------------------


def fresh_db(spec: str, tmp: Path) -> tuple[str, Callable[[], None]]:
    """A URL for an empty database and a function that drops it."""
    if spec == "sqlite":
        return f"sqlite:///{tmp / 'truceline.db'}", lambda: None
    import sqlalchemy as sa

    admin = sa.create_engine(spec, isolation_level="AUTOCOMMIT")
    name = f"truceline_pipeline_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return spec.rsplit("/", 1)[0] + f"/{name}", drop


def register_sensors(ws: Any, data: Path) -> None:
    """Register the file's monitors and sensors (unsigned, as the bench's rows are), as a
    mission does before their reports arrive; open sources and parties are registered on
    first sight by the ingest itself."""
    from truceline.service.sources import REGISTER_ON_SIGHT, register_source

    pairs = pq.read_table(data, columns=["source_id", "source_type"])
    pairs = pairs.group_by(pairs.column_names).aggregate([])
    for sid, stype in zip(*(pairs.column(k).to_pylist() for k in pairs.column_names), strict=True):
        if stype not in REGISTER_ON_SIGHT:
            register_source(ws, sid, stype, signature_policy="optional", actor="bench")


def run_db(
    spec: str, data: Path, agreement: Path, tmp: Path, stages: list[str]
) -> dict[str, dict[str, Any]]:
    from truceline.service.agreements import load_agreement
    from truceline.service.workspace import create_workspace

    where = tmp / ("sqlite" if spec == "sqlite" else "pg")
    where.mkdir()
    url, drop = fresh_db(spec, where)
    try:
        ws = create_workspace(where / "ws", url)
        load_agreement(ws, agreement)
        register_sensors(ws, data)
        ws.engine.dispose()
        return {s: run_stage(s, where / "ws", url, data, where / "reports") for s in stages}
    finally:
        drop()


# -- the pure cores, in memory ----------------------------------------------------


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cores(data: Path, agreement: Path) -> dict[str, float]:
    from truceline.compliance.agreement import load_agreement_file
    from truceline.compliance.rules import Context, Incidents, evaluate
    from truceline.compliance.zoneview import zone_view
    from truceline.fusion.cluster import cluster_lonlat
    from truceline.intake import read_observations

    def parse() -> None:
        for _ in read_observations(data):
            pass

    tab = pq.read_table(data)
    n = tab.num_rows
    t = tab.column("t").to_numpy().astype("datetime64[s]").astype(np.int64)
    lon, lat = tab.column("lon").to_numpy(), tab.column("lat").to_numpy()
    crs = "+proj=aeqd +lat_0=48.5 +lon_0=35 +datum=WGS84 +units=m +no_defs"
    ids = tab.column("id").to_numpy()
    out = {"ingest": _timed(parse)}
    out["fuse"] = _timed(lambda: cluster_lonlat(lon, lat, t, ids, eps=2000.0, window=600, crs=crs))
    a = load_agreement_file(agreement)
    weapon = pc.if_else(pc.equal(tab.column("weapon_class"), ""), None, tab.column("weapon_class"))
    inc = Incidents(
        pa.table(
            {
                "id": tab.column("id"),
                "t": pa.array(t),
                "lon": tab.column("lon"),
                "lat": tab.column("lat"),
                "radius_m": tab.column("radius_m").cast(pa.float64()),
                "kind": tab.column("kind"),
                "weapon_class": weapon,
                "count": pa.array(np.ones(n, np.int64)),
                "status": pa.array(["reported"] * n, pa.string()),
                "confidence": pa.array(np.full(n, 0.5)),
            }
        )
    )

    def judge() -> None:
        view = zone_view(a, inc.lon, inc.lat)
        evaluate(Context(a, inc, view, (), t_from=int(t.min()), t_to=int(t.max()) + 1))

    out["check"] = _timed(judge)
    return out


# -- the table ------------------------------------------------------------------------


def table(
    n: int, results: dict[str, dict[str, dict[str, Any]]], core: dict[str, float], stages: list[str]
) -> str:
    rows = ["| stage | db | wall s | CPU s | records/s | peak RSS MB | core s | notes |"]
    rows.append("|---|---|---:|---:|---:|---:|---:|---|")
    for db, per_db in results.items():
        total = 0.0
        for s in stages:
            r = per_db[s]
            if "error" in r:
                rows.append(f"| {s} | {db} | — | — | — | {r['peak_rss_mb']} | | {r['error']} |")
                continue
            wall, recs = r["wall_s"], r.get("records", 0)
            total += wall if s != "re-ingest" else 0.0
            rate = f"{recs / wall:,.0f}" if s != "report" and wall else ""
            c = f"{core[s]:.2f}" if s in core else ""
            skip = ("wall_s", "cpu_s", "records", "peak_rss_mb")
            notes = ", ".join(f"{k} {v}" for k, v in r.items() if k not in skip)
            cpu = f"{r['cpu_s']:.2f}"
            rows.append(
                f"| {s} | {db} | {wall:.2f} | {cpu} | {rate} | {r['peak_rss_mb']} | {c} | {notes} |"
            )
        rows.append(f"| **day** (ingest+fuse+check+report) | {db} | **{total:.2f}** | | | | | |")
    return f"{n:,} observations\n\n" + "\n".join(rows)


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--db", action="append", help="sqlite, or a PostgreSQL server URL")
    ap.add_argument("--work", type=Path, default=Path("/tmp/truceline-bench"))
    ap.add_argument("--no-cores", action="store_true", help="skip the in-memory cores")
    ap.add_argument("--stages", default=",".join(STAGES), help="a subset, in this order")
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(_stage(args.stage, args.root, args.db[0], args.data, args.out)))
        return
    stages = [s for s in STAGES if s in args.stages.split(",")]
    with tempfile.TemporaryDirectory(prefix="truceline-pipeline-") as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "observations.parquet"
        n = make_input(args.work, args.n, data)
        first = int(pc.min(pq.read_table(data, columns=["t"]).column("t")).value // 1000)
        agreement = agreement_copy(first, tmp / "agreement")
        print(f"start: {_load()}", flush=True)
        core = {} if args.no_cores else cores(data, agreement)
        results = {}
        for spec in args.db or ["sqlite"]:
            label = "sqlite" if spec == "sqlite" else "postgresql"
            results[label] = run_db(spec, data, agreement, tmp, stages)
            print(json.dumps({label: results[label]}), flush=True)
        print(table(n, results, core, stages))
        print(f"\nend: {_load()}")


if __name__ == "__main__":
    main()
