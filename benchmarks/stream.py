#!/usr/bin/env python3
"""Stream intake throughput: 1, 2 and 4 workers on one JetStream stream, PostgreSQL store.

    .venv/bin/python benchmarks/stream.py --n 100000 \\
        --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres --nats nats://127.0.0.1:4222

For each worker count: a fresh stream and a fresh database; the first N rows of the
bench's ``observations.parquet`` are published (timed), then that many
``truceline worker`` processes share one durable consumer until every record is
stored. "store s" is from the workers' start to the last record stored (their start-up
included); "steady" is from the first record stored to the last, what the workers
sustain once running. The load average is the 1-minute one at the end of each run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa

from truceline.service.sources import register_source
from truceline.service.workspace import Workspace, create_workspace
from truceline.stream.jetstream import StreamNames, publish_files


def _count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM observations").scalar_one())


SENSORS = ("monitor", "camera", "acoustic", "uav")


def register_sensors(ws: Workspace, data: Path) -> None:
    """Monitors and sensors must be registered before they submit (open sources and
    parties are registered on first sight); signatures optional, as the bench has none."""
    pairs = pq.read_table(data, columns=["source_id", "source_type"]).group_by(
        ["source_id", "source_type"]
    )
    for row in pairs.aggregate([]).to_pylist():
        if row["source_type"] in SENSORS:
            register_source(ws, row["source_id"], row["source_type"],
                            signature_policy="optional", actor="bench")  # fmt: skip


async def _drop_streams(url: str, names: StreamNames) -> None:
    import nats

    nc = await nats.connect(url)
    js = nc.jetstream()
    for s in (names.stream, names.dead_stream):
        await js.delete_stream(s)
    await nc.close()


def one(n_workers: int, data: Path, n: int, pg: str, nats_url: str, tmp: Path) -> dict[str, float]:
    admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
    db = f"truceline_stream_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
    url = pg.rsplit("/", 1)[0] + f"/{db}"
    tag = uuid.uuid4().hex[:8]
    names = StreamNames(f"BENCH_{tag}", f"bench_{tag}.obs")
    try:
        ws = create_workspace(tmp / f"ws{n_workers}", url)
        register_sensors(ws, data)
        t0 = time.perf_counter()
        publish_files(nats_url, [data], names=names)
        published = time.perf_counter() - t0
        cli = [sys.executable, "-c", "from truceline.cli import main; main()", "--db", url]
        nats = ["--nats", nats_url, "--stream", names.stream, "--subject-prefix", names.prefix]
        cmd = [*cli, "worker", *nats, "--durable", "bench", "--batch", "1000", "--idle-exit", "5"]
        t0 = time.perf_counter()
        procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for _ in range(n_workers)]
        first = None
        while (done := _count(ws.engine)) < n and any(p.poll() is None for p in procs):
            if first is None and done:
                first = time.perf_counter(), done
            time.sleep(0.05)
        end = time.perf_counter()
        stored_s = end - t0
        steady = (n - first[1]) / (end - first[0]) if first else float("nan")
        for p in procs:
            p.wait()
        ws.engine.dispose()
        return {"workers": n_workers, "publish_s": published, "store_s": stored_s,
                "steady": steady, "load": os.getloadavg()[0]}  # fmt: skip
    finally:
        asyncio.run(_drop_streams(nats_url, names))
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--nats", default="nats://127.0.0.1:4222")
    ap.add_argument("--work", type=Path, default=Path("/tmp/truceline-bench"))
    ap.add_argument("--workers", default="1,2,4")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="truceline-stream-") as name:
        tmp = Path(name)
        data = tmp / "obs.parquet"
        pq.write_table(pq.read_table(args.work / "observations.parquet").slice(0, args.n), data)
        head = "| workers | publish s | publish msg/s | store s | records/s | steady/s | load |"
        rows = [head, "|---:|---:|---:|---:|---:|---:|---:|"]
        for k in (int(x) for x in args.workers.split(",")):
            r = one(k, data, args.n, args.pg, args.nats, tmp)
            rows.append(f"| {k} | {r['publish_s']:.1f} | {args.n / r['publish_s']:,.0f} | "
                        f"{r['store_s']:.1f} | {args.n / r['store_s']:,.0f} | "
                        f"{r['steady']:,.0f} | {r['load']:.1f} |")  # fmt: skip
            print(rows[-1], flush=True)
        print(f"\n{args.n:,} observations\n\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
