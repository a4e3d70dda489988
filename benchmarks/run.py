#!/usr/bin/env python3
"""truceline's side of ../shared/bench: the same workloads, inputs and outputs.

    python benchmarks/run.py classify --work /tmp/truceline-bench --out /tmp/o/tl-classify.csv
    python benchmarks/run.py cluster  --work /tmp/truceline-bench --out /tmp/o/tl-cluster.csv
    python benchmarks/run.py compare cluster --work /tmp/truceline-bench --out /tmp/o

The first form runs truceline's public code on one workload and prints ``load_s=``,
``compute_s=``, ``write_s=`` and a JSON line, exactly like ``peers.py`` (compute
starts with the inputs in memory and includes building every index and projecting
coordinates). ``compare`` runs truceline and the named peers (default: all but
PostGIS) one after the other in this one run, each under ``/usr/bin/time -v`` for
peak memory, checks every output against truceline's with ``check.py`` and prints
one table. Each workload lives in ``benchmarks/workloads/<name>.py`` with
``load(work, limit)``, ``compute(inputs)`` and ``write(path, inputs, result)``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = Path(os.environ.get("TRUCELINE_BENCH_DIR", HERE.parent.parent / "shared" / "bench"))
WORKLOADS = ("classify", "cluster", "deconflict")
DEFAULT_PEERS = {
    "classify": ["shapely", "geopandas"],
    "cluster": ["csgraph", "sklearn"],
    "deconflict": ["strtree", "rtree"],
}


def run_ours(workload: str, work: str, out: str, limit: int | None) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    mod = importlib.import_module(f"workloads.{workload}")
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    inputs = mod.load(work, limit)
    phases["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = mod.compute(inputs)
    phases["compute"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = mod.write(out, inputs, result)
    phases["write"] = time.perf_counter() - t0
    for k, v in phases.items():
        print(f"{k}_s={v:.3f}")
    rec = {
        "workload": workload,
        "peer": "truceline",
        "items": n,
        **{k: round(v, 3) for k, v in phases.items()},
        "items_per_s": round(n / phases["compute"]) if phases["compute"] else None,
        "out": out,
    }
    print(json.dumps(rec), flush=True)
    return rec


def _timed(cmd: list[str]) -> dict[str, object]:
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode or not lines:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": tail[:200], "peak_rss_mb": int(rss.group(1)) // 1024 if rss else None}
    rec: dict[str, object] = json.loads(lines[-1])
    rec["peak_rss_mb"] = int(rss.group(1)) // 1024 if rss else None
    return rec


def compare(workload: str, work: str, outdir: str, peers: list[str], limit: int | None) -> int:
    os.makedirs(outdir, exist_ok=True)
    lim = ["--limit", str(limit)] if limit else []
    ours_out = os.path.join(outdir, f"truceline-{workload}.csv")
    rows = [
        _timed(
            [
                sys.executable,
                str(HERE / "run.py"),
                workload,
                "--work",
                work,
                "--out",
                ours_out,
                *lim,
            ]
        )
    ]
    rows[0]["peer"] = "truceline"
    failed = "error" in rows[0]
    for peer in peers:
        out = os.path.join(outdir, f"{workload}.{peer}.csv")
        rec = _timed(
            [
                sys.executable,
                str(BENCH / "peers.py"),
                workload,
                "--work",
                work,
                "--out",
                out,
                "--peer",
                peer,
                *lim,
            ]
        )
        rec["peer"] = peer
        if "error" not in rec and not failed:
            chk = subprocess.run(
                [sys.executable, str(BENCH / "check.py"), "--work", work, out, ours_out],
                capture_output=True,
                text=True,
            )
            rec["check"] = "equal" if chk.returncode == 0 else "DIFFERENT"
            failed |= chk.returncode != 0
            if chk.returncode:
                print(chk.stdout[-2000:], chk.stderr[-2000:], file=sys.stderr)
        rows.append(rec)
    print(f"\n{workload} (items={rows[0].get('items')}, limit={limit})")
    print(
        f"{'implementation':<14}{'load s':>9}{'compute s':>11}{'write s':>9}"
        f"{'items/s':>12}{'peak MB':>9}  check / speed-up vs truceline"
    )
    base = rows[0].get("compute")
    for r in rows:
        if "error" in r:
            print(f"{r['peer']:<14} error: {r['error']}")
            continue
        comp = r.get("compute")
        ratio = (
            f"x{float(comp) / float(base):.2f}"
            if isinstance(comp, float) and isinstance(base, float) and base
            else ""
        )
        print(
            f"{r['peer']:<14}{r.get('load', 0):>9}{comp:>11}{r.get('write', 0):>9}"
            f"{r.get('items_per_s') or 0:>12}{r.get('peak_rss_mb') or 0:>9}  "
            f"{r.get('check', '(reference)' if r['peer'] == 'truceline' else '')} {ratio}"
        )
    with open(os.path.join(outdir, "results.jsonl"), "a") as f:
        for r in rows:
            f.write(json.dumps({"workload": workload, "limit": limit, **r}) + "\n")
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("workload", choices=[*WORKLOADS, "compare"])
    ap.add_argument("target", nargs="?", choices=WORKLOADS, help="with compare: the workload")
    ap.add_argument("--work", default="/tmp/truceline-bench")
    ap.add_argument("--out", required=True, help="output CSV (compare: a directory)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--peers", default=None, help="compare: comma list of peers")
    a = ap.parse_args()
    if a.workload == "compare":
        if not a.target:
            ap.error("compare needs a workload")
        peers = a.peers.split(",") if a.peers else DEFAULT_PEERS[a.target]
        return compare(a.target, a.work, a.out, peers, a.limit)
    run_ours(a.workload, a.work, a.out, a.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
