"""Ledger speed: append N entries and compute the root, against hashlib alone.

    .venv/bin/python benchmarks/ledger.py [--n 1000000] [--dir /tmp/ledger-bench] [--pg URL]

Stages (each timed on its own; records are built beforehand, outside the timings):

* ``hashlib``: SHA-256 of each entry's canonical bytes, a Python loop: the baseline;
* ``merkle``: leaf hashes (0x00 || data) and the RFC 9162 root of all of them
  (numpy level hashing), the same bytes as the baseline;
* ``canonical``: RFC 8785 bytes of each envelope (fast path), and ``rfc8785``
  itself on a sample, extrapolated;
* ``append``: ``ledger.store.append`` through the API into a SQLite file (and
  PostgreSQL with ``--pg``) in batches of 10,000: canonical form, leaf hashes,
  entry rows and tree-node rows, one transaction per batch;
* ``root``: the root from the store on a fresh connection (cold start: O(log n)
  node rows), and inclusion / consistency proofs at N from the store;
* ``verify``: ``truceline ledger verify`` (``audit_files``) of a bundle of the N
  entries against a signed head, in a fresh process: wall time and peak RSS.

``--verify-only`` skips the store stages.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import rfc8785

from truceline.ledger.canonical import canonical_bytes
from truceline.ledger.merkle import (
    MemoryTree,
    hash_leaf,
    hash_leaves,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from truceline.ledger.note import Signer, add_signatures, format_checkpoint, sign_note
from truceline.service.workspace import create_workspace
from truceline.store import ledger as store

BATCH = 10_000
AT = 1_796_000_000  # the time of acceptance every entry carries


def _records(n: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(1)
    kinds = ["explosion", "projectile", "burst", "shot", "drone", "movement"]
    out = []
    for i in range(n):
        rec = {
            "source_id": f"mon-{i % 97:02d}",
            "client_id": f"c-{i}",
            "t": 1_740_000_000 + i * 7,
            "t_unc_s": 60.0,
            "lon": round(37.5 + rng.random(), 5),
            "lat": round(47.8 + rng.random(), 5),
            "radius_m": 250.0,
            "kind": kinds[i % 6],
            "count": 1 + i % 5,
            "credibility": 2,
            "description": "impacts heard north-east of the observation post",
        }
        out.append((hashlib.sha256(str(i).encode()).hexdigest(), rec))
    return out


def _time(f: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r


def _append_all(url: str, items: list[tuple[str, dict[str, Any]]]) -> tuple[float, Any]:
    ws_dir = Path(url) if not url.startswith("postgresql") else None
    ws = create_workspace(ws_dir) if ws_dir else create_workspace(Path("/tmp/ledger-bench-pg"), url)

    def run() -> None:
        for s in range(0, len(items), BATCH):
            with ws.engine.begin() as conn:
                store.append(conn, "observation", items[s : s + BATCH], at=AT)

    secs, _ = _time(run)
    ws.engine.dispose()
    return secs, ws.url


def _store_proofs(url: str, n: int) -> dict[str, float]:
    from truceline.store.db import open_engine

    engine = open_engine(url)  # a fresh engine: nothing cached in this process
    rng = random.Random(2)
    with engine.connect() as conn:
        t_root, root = _time(lambda: store.root(conn, n))
        ti, tc = [], []
        for _ in range(50):
            i, old = rng.randrange(n), rng.randint(1, n - 1)
            dt, p = _time(partial(store.inclusion_proof, conn, i, n))
            ti.append(dt)
            leaf = store.fetch_nodes(conn, [(0, i)])[(0, i)]
            assert verify_inclusion(i, n, leaf, p, root)
            dt, c = _time(partial(store.consistency_proof, conn, old, n))
            tc.append(dt)
            assert verify_consistency(old, n, store.root(conn, old), root, c)
    engine.dispose()
    return {
        "root": t_root,
        "inclusion": statistics.median(ti),
        "consistency": statistics.median(tc),
    }


def _verify(datas: list[bytes], items: list[tuple[str, Any]], root: bytes, d: Path) -> str:
    """Write a bundle and a signed head, then time ``audit_files`` in a fresh process."""
    d.mkdir(parents=True, exist_ok=True)
    signer = Signer.generate("bench.example/log")
    body = format_checkpoint(signer.name, len(datas), root, (f"time {AT}",))
    head = add_signatures(body, [sign_note(body, signer)])
    bundle = d / "bundle.jsonl"
    with bundle.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"format": "truceline-ledger-bundle/1", "checkpoint": head}) + "\n")
        for i, (data, (ref, _)) in enumerate(zip(datas, items, strict=True)):
            rec = {"idx": i, "kind": "observation", "ref": ref, "data": data.decode()}
            rec["leaf_hash"] = hash_leaf(data).hex()
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (d / "head.txt").write_text(head, encoding="utf-8")
    (d / "key.pub").write_text(signer.verifier.vkey + "\n", encoding="utf-8")
    code = (
        "import sys, time\n"
        # peak RSS of this process only: ru_maxrss would carry the parent's over exec
        "def _hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1])\n"
        "from pathlib import Path\n"
        "from truceline.ledger.audit import audit_files\n"
        "from truceline.ledger.note import Verifier\n"
        "t = time.perf_counter()\n"
        "rep = audit_files(Path(sys.argv[1]), Path(sys.argv[2]), Verifier.parse(sys.argv[3]))\n"
        "assert rep.ok, rep.issues[:3]\n"
        "rss = _hwm() / 1024\n"
        "print(f'{time.perf_counter() - t:.2f} {rss:.0f}')\n"
    )
    args = [sys.executable, "-c", code, str(bundle), str(d / "head.txt"), signer.verifier.vkey]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/ledger-bench"))
    ap.add_argument("--pg", help="also append into this (empty) PostgreSQL database")
    ap.add_argument("--verify-only", action="store_true", help="skip the store stages")
    args = ap.parse_args()
    n = args.n
    items = _records(n)
    envelopes: list[Any] = [
        {"at": AT, "kind": "observation", "ref": r, "record": rec} for r, rec in items
    ]
    rows: list[tuple[str, float, str]] = []

    t_can, datas = _time(lambda: [canonical_bytes(e) for e in envelopes])
    sample = envelopes[:20_000]
    t_ref, _ = _time(lambda: [rfc8785.dumps(e) for e in sample])
    mb = sum(map(len, datas)) / 1e6
    t_base, _ = _time(lambda: [hashlib.sha256(d).digest() for d in datas])
    t_leaf, leaves = _time(lambda: hash_leaves(datas))
    t_root, root = _time(lambda: root_from_leaves(leaves))
    t_tree, tree = _time(lambda: MemoryTree(leaves))
    assert tree.root() == root
    t_merkle = t_leaf + t_root
    rows += [
        ("hashlib sha256 of each entry (baseline)", t_base, f"{n / t_base:,.0f} entries/s"),
        ("merkle: leaf hashes + root", t_merkle, f"{n / t_merkle:,.0f} entries/s"),
        ("  factor vs baseline", t_merkle / t_base, "x"),
        ("merkle: leaf hashes + every level kept", t_leaf + t_tree, "(in-memory node store)"),
        ("canonical RFC 8785 (fast path)", t_can, f"{n / t_can:,.0f} records/s"),
        ("canonical, rfc8785 package (extrapolated)", t_ref * n / len(sample), "reference"),
    ]
    if args.dir.exists():
        shutil.rmtree(args.dir)
    secs, rss = _verify(datas, items, root, args.dir / "verify").split()
    rows += [
        ("ledger verify BUNDLE --head --key (fresh process)", float(secs), f"peak RSS {rss} MB")
    ]  # noqa: E501
    if args.verify_only:
        _print(n, mb, root, rows)
        return
    t_app, url = _append_all(str(args.dir), items)
    rows += [
        ("append via API into SQLite (+ node rows)", t_app, f"{n / t_app:,.0f} entries/s"),
        ("  factor vs baseline", t_app / t_base, "x"),
    ]
    p = _store_proofs(url, n)
    with __import__("truceline.store.db", fromlist=["open_engine"]).open_engine(url).connect() as c:
        assert store.root(c, n) == root
    rows += [
        ("root from the store, cold (O(log n) rows)", p["root"], "SQLite"),
        ("inclusion proof at N from the store (median)", p["inclusion"], "SQLite"),
        ("consistency proof at N from the store (median)", p["consistency"], "SQLite"),
    ]
    if args.pg:
        t_pg, pg_url = _append_all(args.pg, items)
        q = _store_proofs(pg_url, n)
        rows += [
            ("append via API into PostgreSQL", t_pg, f"{n / t_pg:,.0f} entries/s"),
            ("inclusion proof at N (PostgreSQL, median)", q["inclusion"], ""),
            ("consistency proof at N (PostgreSQL, median)", q["consistency"], ""),
        ]
    _print(n, mb, root, rows)


def _print(n: int, mb: float, root: bytes, rows: list[tuple[str, float, str]]) -> None:
    print(f"\nledger benchmark: N = {n:,} entries, {mb:,.0f} MB of canonical bytes")
    print(f"root = {root.hex()}\n")
    print(f"{'stage':<50} {'seconds':>12}  note")
    print("-" * 90)
    for name, secs, note in rows:
        val = f"{secs:>12.2f}" if note == "x" else f"{secs:>12.6f}"
        print(f"{name:<50} {val}  {note}")


if __name__ == "__main__":
    main()
