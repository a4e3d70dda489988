#!/usr/bin/env python3
"""CPU time of the bulk conflict search and of the fastest peer, alternating in one
process, so that a loaded machine (which inflates wall-clock figures) matters less.

    python benchmarks/deconflict_cpu.py --work /tmp/truceline-bench [--rounds 4]

Reads the bench inputs once, then runs truceline's compute (``workloads/deconflict``)
and the ``strtree`` peer of ``../shared/bench/peers.py`` one after the other, each
``--rounds`` times, printing the process CPU time (all threads) and wall time of
each compute, with the load average; both outputs are compared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
BENCH = HERE.parent.parent / "shared" / "bench"
sys.path.insert(0, os.environ.get("TRUCELINE_BENCH_DIR", str(BENCH)))

import peers  # type: ignore[import-not-found]  # noqa: E402
from workloads import deconflict as ours  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", default="/tmp/truceline-bench")
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args()
    inputs = ours.load(a.work, None)
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    same = True
    for r in range(a.rounds):
        c, t = time.process_time(), time.perf_counter()
        qi, vi = ours.compute(inputs)
        mine = (time.process_time() - c, time.perf_counter() - t)

        @contextlib.contextmanager
        def tm(_: str) -> Iterator[None]:
            yield

        c, t = time.process_time(), time.perf_counter()
        theirs = peers.deconflict_strtree(inputs["vol"], inputs["q"], tm)
        peer = (time.process_time() - c, time.perf_counter() - t)
        got = peers.group_strings(len(inputs["q"]["id"]), qi, inputs["vol"]["id"][vi])
        same &= bool(np.array_equal(got, theirs))
        print(
            f"round {r + 1}: truceline CPU {mine[0]:.3f} s (wall {mine[1]:.3f}); "
            f"strtree CPU {peer[0]:.3f} s (wall {peer[1]:.3f}); "
            f"CPU ratio {peer[0] / mine[0]:.2f}"
        )
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"outputs equal: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
