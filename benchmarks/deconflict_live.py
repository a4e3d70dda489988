#!/usr/bin/env python3
"""Single submissions against the active volumes: latency of one conflict search.

    python benchmarks/deconflict_live.py --work /tmp/truceline-bench [--n 2000]

Builds ``truceline.deconfliction.live.LiveIndex`` over the bench's 100,000 volumes in
one go (as the service does, lazily, from the store), then:

1. checks the first ``--n`` queries one by one against it;
2. files them one by one (each is added to the index as a new volume, and one of the
   original volumes is cancelled, as accepted submissions change the register),
   timing each change, rebuilds included;
3. checks the same queries again against the changed index.

It prints the p50/p99/max latency of each search (wall) and its CPU time (the
thread's: a loaded machine does not inflate it), with the load average; each answer
is checked against the bulk search over the same volumes (exit 1 if one differs).
"""

from __future__ import annotations

import argparse
import os
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


def bulk(q: list[Volume], v: list[Volume]) -> list[list[int]]:
    """For each of q, the indices of v it meets, by the bulk search."""

    def boxes(vs: list[Volume]) -> tuple[Boxes, np.ndarray]:
        g = np.empty(len(vs), dtype=object)
        g[:] = [x.geometry for x in vs]
        t = np.array([(x.t_start, x.t_end) for x in vs], np.int64)
        a = np.array([(x.alt_min, x.alt_max) for x in vs], np.float64)
        return Boxes.of(g, t[:, 0], t[:, 1], a[:, 0], a[:, 1]), g

    (qb, qg), (vb, vg) = boxes(q), boxes(v)
    qi, vi = conflict_pairs(qb, qg, vb, vg)
    out: list[list[int]] = [[] for _ in q]
    for i, j in zip(qi.tolist(), vi.tolist(), strict=True):
        out[i].append(j)
    return out


def searches(live: LiveIndex, qs: list[Volume]) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
    lat, cpu = np.empty(len(qs)), np.empty(len(qs))
    found = []
    for j, q in enumerate(qs):
        c, t = time.thread_time(), time.perf_counter()
        found.append(live.search(q))
        lat[j], cpu[j] = time.perf_counter() - t, time.thread_time() - c
    return found, lat, cpu


def report(label: str, lat: np.ndarray, cpu: np.ndarray) -> None:
    ms, cms = np.percentile(lat, [50, 99]) * 1e3, np.percentile(cpu, [50, 99]) * 1e3
    print(
        f"{label}: wall p50 {ms[0]:.3f} ms, p99 {ms[1]:.3f} ms, max {lat.max() * 1e3:.3f} ms; "
        f"CPU p50 {cms[0]:.3f} ms, p99 {cms[1]:.3f} ms, max {cpu.max() * 1e3:.3f} ms"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", default="/tmp/truceline-bench")
    ap.add_argument("--n", type=int, default=2000, help="queries submitted one by one")
    a = ap.parse_args()
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    vd = read_volumes(f"{a.work}/volumes.geojson")
    qd = {k: v[: a.n] for k, v in read_volumes(f"{a.work}/queries.geojson").items()}
    vols, qs = volumes(vd), volumes(qd)
    t0 = time.perf_counter()
    live = LiveIndex(enumerate(vols))
    print(f"active volumes {len(live)}, built in {time.perf_counter() - t0:.3f} s")

    found, lat, cpu = searches(live, qs)
    same = found == bulk(qs, vols)
    report(f"1. {len(qs)} searches", lat, cpu)

    # 2. the queries are filed (keys after the volumes'), one original cancelled each
    gone = np.random.default_rng(1).choice(len(vols), len(qs), replace=False)
    change = np.empty(len(qs))
    for j, q in enumerate(qs):
        t = time.perf_counter()
        live.add(len(vols) + j, q)
        live.remove(int(gone[j]))
        change[j] = time.perf_counter() - t
    print(
        f"2. {len(qs)} changes (add one, cancel one): mean {change.mean() * 1e3:.3f} ms, "
        f"max {change.max() * 1e3:.3f} ms (rebuilds included)"
    )

    found, lat, cpu = searches(live, qs)
    keep = np.setdiff1d(np.arange(len(vols)), gone)
    now = [vols[i] for i in keep.tolist()] + qs
    key = np.concatenate([keep, len(vols) + np.arange(len(qs))])
    want = [sorted(int(key[i]) for i in hits) for hits in bulk(qs, now)]
    same &= found == want
    report(f"3. {len(qs)} searches after the changes", lat, cpu)
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"answers equal to the bulk search: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
