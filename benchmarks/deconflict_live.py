#!/usr/bin/env python3
"""Single submissions against the active volumes: latency of one conflict search.

    python benchmarks/deconflict_live.py --work /tmp/truceline-bench [--n 2000]

Indexes the bench's 100,000 volumes in ``truceline.deconfliction.live.LiveIndex``
(one insertion at a time, as submissions arrive), then checks the first ``--n``
queries one by one and prints the p50/p99/max latency of ``LiveIndex.search`` and
the time per insertion; also the CPU time of each search, which a loaded machine
does not inflate. Each answer is checked against the bulk search.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads.deconflict import read_volumes  # noqa: E402

from truceline.deconfliction.live import LiveIndex  # noqa: E402
from truceline.deconfliction.search import Boxes, conflict_pairs  # noqa: E402
from truceline.deconfliction.volumes import Volume  # noqa: E402


def volumes(d: dict[str, np.ndarray]) -> list[Volume]:
    return [
        Volume(g, "flight", int(a), int(b), float(lo), float(hi))
        for g, a, b, lo, hi in zip(
            d["geom"], d["ts"], d["te"], d["alt_min_m"], d["alt_max_m"], strict=True
        )
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", default="/tmp/truceline-bench")
    ap.add_argument("--n", type=int, default=2000, help="queries submitted one by one")
    a = ap.parse_args()
    vd = read_volumes(f"{a.work}/volumes.geojson")
    qd = {k: v[: a.n] for k, v in read_volumes(f"{a.work}/queries.geojson").items()}
    vols, qs = volumes(vd), volumes(qd)
    live = LiveIndex()
    t0 = time.perf_counter()
    for k, v in enumerate(vols):
        live.add(k, v)
    insert_us = (time.perf_counter() - t0) / len(vols) * 1e6
    lat, cpu = np.empty(len(qs)), np.empty(len(qs))
    found: list[list[int]] = []
    for j, q in enumerate(qs):
        c, t = time.thread_time(), time.perf_counter()
        found.append(live.search(q))
        lat[j], cpu[j] = time.perf_counter() - t, time.thread_time() - c
    vb = Boxes.of(vd["geom"], vd["ts"], vd["te"], vd["alt_min_m"], vd["alt_max_m"])
    qb = Boxes.of(qd["geom"], qd["ts"], qd["te"], qd["alt_min_m"], qd["alt_max_m"])
    qi, vi = conflict_pairs(qb, qd["geom"], vb, vd["geom"])
    bulk: list[list[int]] = [[] for _ in qs]
    for i, j in zip(qi.tolist(), vi.tolist(), strict=True):
        bulk[i].append(j)
    same = found == bulk
    ms = np.percentile(lat, [50, 99]) * 1e3
    cms = np.percentile(cpu, [50, 99]) * 1e3
    print(f"active volumes {len(live)}, submissions {len(qs)}, insert {insert_us:.1f} us each")
    print(f"search latency p50 {ms[0]:.3f} ms, p99 {ms[1]:.3f} ms, max {lat.max() * 1e3:.3f} ms")
    print(f"search CPU time (excludes waiting for a core) p50 {cms[0]:.3f} ms, p99 {cms[1]:.3f} ms")
    print(f"answers equal to the bulk search: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
