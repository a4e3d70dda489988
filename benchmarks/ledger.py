"""Ledger speed: append N entries, against hashlib over the same canonical bytes.

    .venv/bin/python benchmarks/ledger.py [--n 1000000] [--dir /tmp/ledger-bench] [--pg URL]

Stages, from one run (records are built beforehand, outside the timings; each row
gives wall and CPU seconds of this process, and its ratio to the baseline):

* ``hashlib``: SHA-256 of each entry's canonical bytes, a Python loop: the baseline;
* ``canonical``: RFC 8785 bytes of each envelope (``ledger.canonical``), the same
  bytes made a batch of Arrow columns at a time (``ledger.columnar``: ``canonical_rows``
  then ``entry_rows``, as ingest and fusion make them), and the ``rfc8785`` package
  itself on a sample, extrapolated;
* ``merkle``: what an append hashes: leaf hashes (0x00 || data), then the tree's
  tiles (``merkle.extend_tiles``) batch by batch as ``append`` grows them, and the
  RFC 9162 root;
* ``store the bytes``: the entries' bytes alone (no canonical form, no hashing) into a
  scratch SQLite file, as one row per entry and as bundles of 256 entries (what a
  store of data tiles would write instead);
* ``append``: ``ledger.store.append`` through the API into a SQLite file (and
  PostgreSQL with ``--pg``, whose server CPU is not in the CPU column) in batches of
  10,000: canonical form, leaf hashes, entry rows and tiles, one transaction per
  batch; then ``rebuild_tiles`` (every tile from the stored leaf hashes, one pass);
  then the same N records again the way ingest appends them (columnar canonical
  form, then ``ledger.store.append_data``), the two parts timed apart;
* ``root``: the root from the store on a fresh connection (cold start: a few tiles),
  and inclusion / consistency proofs at N from the store;
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
from array import array
from collections.abc import Callable, Iterator
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any

import pyarrow as pa
import rfc8785

from truceline.ledger.canonical import canonical_bytes
from truceline.ledger.columnar import canonical_rows, entry_rows
from truceline.ledger.merkle import (
    HASH_SIZE,
    TILE_WIDTH,
    edge_tiles,
    extend_tiles,
    hash_leaf,
    hash_leaves,
    root_from_leaves,
    tile_widths,
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


def _columns(items: list[tuple[str, dict[str, Any]]]) -> tuple[pa.Array, dict[str, pa.Array]]:
    """The refs and the records' columns, as ingest holds a batch."""
    refs = pa.array([r for r, _ in items], pa.string())
    names = list(items[0][1]) if items else []
    return refs, {k: pa.array([rec[k] for _, rec in items]) for k in names}


def _batches(
    refs: pa.Array, cols: dict[str, pa.Array]
) -> Iterator[tuple[pa.Array, dict[str, pa.Array]]]:
    for s in range(0, len(refs), BATCH):
        yield refs.slice(s, BATCH), {k: c.slice(s, BATCH) for k, c in cols.items()}


def _entry_bytes(refs: pa.Array, cols: dict[str, pa.Array]) -> list[bytes]:
    """Each envelope's bytes as ``ledger.columnar`` makes them (as ingest does)."""
    return entry_rows("observation", refs, canonical_rows(cols), AT).to_pylist()


def _columnar(refs: pa.Array, cols: dict[str, pa.Array]) -> list[bytes]:
    """Each envelope's bytes as ``ledger.columnar`` makes them, batch by batch."""
    return [d for ids, part in _batches(refs, cols) for d in _entry_bytes(ids, part)]


def _time(f: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    r = f()
    return time.perf_counter() - t, r


def _timed(f: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall and CPU seconds (this process) of ``f()``, and its result."""
    t, c = time.perf_counter(), time.process_time()
    r = f()
    return time.perf_counter() - t, time.process_time() - c, r


def _tiles_in_batches(leaves: bytes) -> dict[tuple[int, int], bytes]:
    """The tiles as ``append`` writes them, batch by batch (partial tiles regrown)."""
    tiles: dict[tuple[int, int], bytes] = {}
    step = BATCH * HASH_SIZE
    for s in range(0, len(leaves), step):
        n = s // HASH_SIZE
        edge = {(lv, i): tiles[(lv, i)] for lv, i, _ in edge_tiles(n)}
        for lv, i, h in extend_tiles(n, edge, leaves[s : s + step]):
            tiles[(lv, i)] = h
    return tiles


def _append_all(url: str, items: list[tuple[str, dict[str, Any]]]) -> tuple[float, float, str]:
    ws_dir = Path(url) if not url.startswith("postgresql") else None
    ws = create_workspace(ws_dir) if ws_dir else create_workspace(Path("/tmp/ledger-bench-pg"), url)

    def run() -> None:
        for s in range(0, len(items), BATCH):
            with ws.engine.begin() as conn:
                store.append(conn, "observation", items[s : s + BATCH], at=AT)

    wall, cpu, _ = _timed(run)
    ws.engine.dispose()
    return wall, cpu, ws.url


def _append_columnar(url: str, refs: pa.Array, cols: dict[str, pa.Array]) -> list[float]:
    """Append the records again as ingest does, batch by batch, each in its own
    transaction: wall and CPU of the canonical form, then of ``append_data``."""
    from truceline.store.db import open_engine

    engine = open_engine(url)
    spent = [0.0, 0.0, 0.0, 0.0]
    for ids, part in _batches(refs, cols):
        w, c, datas = _timed(partial(_entry_bytes, ids, part))
        with engine.begin() as conn:
            append = partial(store.append_data, conn, "observation", ids.to_pylist(), datas, AT)
            w2, c2, _ = _timed(append)
        spent = [spent[0] + w, spent[1] + c, spent[2] + w2, spent[3] + c2]
    engine.dispose()
    return spent


def _rows_or_bundles(path: Path, refs: list[str], datas: list[bytes]) -> list[float]:
    """What storing entries costs, apart from canonical form and hashing: the same
    bytes inserted into a scratch SQLite file opened as the store opens one, once as
    one row per entry (as ``ledger_entries`` holds them) and once as bundles of 256
    entries (their bytes concatenated, an offsets array, their refs: as Sunlight and
    Tessera store data tiles), the partial bundle of each batch rewritten by the next.
    Wall and CPU of each, one transaction per batch."""
    from truceline.store.db import open_engine

    engine = open_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE entry_rows (idx INTEGER PRIMARY KEY, kind TEXT NOT NULL, "
            "ref TEXT NOT NULL, data BLOB NOT NULL, leaf_hash BLOB NOT NULL, at INTEGER NOT NULL)"
        )
        conn.exec_driver_sql(
            "CREATE TABLE entry_bundles (idx INTEGER PRIMARY KEY, refs BLOB NOT NULL, "
            "data BLOB NOT NULL, offsets BLOB NOT NULL)"
        )
    leaf = bytes(32)  # the hashes' cost is measured apart: only their bytes here

    def rows() -> None:
        for s in range(0, len(datas), BATCH):
            part = zip(refs[s : s + BATCH], datas[s : s + BATCH], strict=True)
            batch = [(s + k, r, d, leaf, AT) for k, (r, d) in enumerate(part)]
            with engine.begin() as conn:
                sql = "INSERT INTO entry_rows VALUES (?, 'observation', ?, ?, ?, ?)"
                conn.exec_driver_sql(sql, batch)

    def bundles() -> None:
        for s in range(0, len(datas), BATCH):
            first = s // TILE_WIDTH * TILE_WIDTH  # the partial bundle is written again
            out = []
            for b in range(first, min(s + BATCH, len(datas)), TILE_WIDTH):
                part = datas[b : min(b + TILE_WIDTH, s + BATCH)]
                ends = array("I", accumulate(map(len, part))).tobytes()
                names = "\n".join(refs[b : b + len(part)]).encode()
                out.append((b // TILE_WIDTH, names, b"".join(part), ends))
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT OR REPLACE INTO entry_bundles VALUES (?, ?, ?, ?)", out
                )

    w1, c1, _ = _timed(rows)
    w2, c2, _ = _timed(bundles)
    engine.dispose()
    return [w1, c1, w2, c2]


def _rebuild(url: str) -> tuple[float, float]:
    from truceline.store.db import open_engine

    engine = open_engine(url)
    with engine.begin() as conn:
        wall, cpu, _ = _timed(lambda: store.rebuild_tiles(conn))
    engine.dispose()
    return wall, cpu


def _store_proofs(url: str, n: int, want: bytes) -> dict[str, float]:
    from truceline.store.db import open_engine

    engine = open_engine(url)  # a fresh engine: nothing cached in this process
    rng = random.Random(2)
    with engine.connect() as conn:
        t_root, root = _time(lambda: store.root(conn, n))
        assert root == want, "the store's root is not the in-memory one"
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


Row = tuple[str, float, float | None, str]  # stage, wall s, CPU s, note


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
    rows: list[Row] = []

    t_can, c_can, datas = _timed(lambda: [canonical_bytes(e) for e in envelopes])
    sample = envelopes[:20_000]
    refs, cols = _columns(items)
    t_col, c_col, col_datas = _timed(lambda: _columnar(refs, cols))
    assert col_datas == datas, "the columnar canonical form is not ledger.canonical's"
    del col_datas
    t_ref, c_ref, _ = _timed(lambda: [rfc8785.dumps(e) for e in sample])
    mb = sum(map(len, datas)) / 1e6
    t_base, c_base, _ = _timed(lambda: [hashlib.sha256(d).digest() for d in datas])
    t_leaf, c_leaf, leaves = _timed(lambda: hash_leaves(datas))
    t_tiles, c_tiles, tiles = _timed(lambda: _tiles_in_batches(leaves))
    t_root, c_root, root = _timed(lambda: root_from_leaves(leaves))
    assert len(tiles) == len(tile_widths(n))

    def ratio(wall: float, cpu: float | None = None) -> str:
        """To the baseline: wall to wall, and this process's CPU to the baseline's."""
        own = "" if cpu is None else f", CPU {cpu / c_base:.2f}x"
        return f"{wall / t_base:.2f}x hashlib{own}"

    t_merkle, c_merkle = t_leaf + t_tiles, c_leaf + c_tiles
    rows += [
        ("hashlib sha256 of each entry (baseline)", t_base, c_base, f"{n / t_base:,.0f}/s"),
        ("canonical RFC 8785 (ledger.canonical)", t_can, c_can, ratio(t_can, c_can)),
        ("canonical, columnar (ledger.columnar)", t_col, c_col, ratio(t_col, c_col)),
        ("canonical, rfc8785 package (extrapolated)", t_ref * n / 20_000, None, "reference"),
        ("merkle: leaf hashes", t_leaf, c_leaf, ratio(t_leaf, c_leaf)),
        ("merkle: tiles, batch by batch as append", t_tiles, c_tiles, ratio(t_tiles, c_tiles)),
        ("merkle: leaf hashes + tiles", t_merkle, c_merkle, ratio(t_merkle, c_merkle)),
        ("merkle: root of all leaves (one pass)", t_root, c_root, ratio(t_root, c_root)),
        ("columnar + leaf hashes + tiles (the CPU floor)", t_col + t_merkle, c_col + c_merkle,
         ratio(t_col + t_merkle, c_col + c_merkle)),
    ]  # fmt: skip
    if args.dir.exists():
        shutil.rmtree(args.dir)
    secs, rss = _verify(datas, items, root, args.dir / "verify").split()
    rows += [
        (
            "ledger verify BUNDLE --head --key (fresh process)",
            float(secs),
            None,
            f"peak RSS {rss} MB",
        )
    ]  # noqa: E501
    if args.verify_only:
        _print(n, mb, root, rows)
        return
    rw, rc, bw, bc = _rows_or_bundles(args.dir / "scratch.db", [r for r, _ in items], datas)
    rows += [
        ("store the bytes, SQLite: one row per entry", rw, rc, ratio(rw, rc)),
        ("store the bytes, SQLite: bundles of 256", bw, bc, ratio(bw, bc)),
    ]
    targets = [("SQLite", str(args.dir))] + ([("PostgreSQL", args.pg)] if args.pg else [])
    for name, where in targets:
        t_app, c_app, url = _append_all(where, items)
        t_reb, c_reb = _rebuild(url)
        p = _store_proofs(url, n, root)
        cw, cc, aw, ac = _append_columnar(url, refs, cols)
        rows += [
            (f"append via API into {name} (entries + tiles)", t_app, c_app, ratio(t_app, c_app)),
            (f"  {name}: entries/s", n / t_app, None, "rate"),
            (f"  {name}: rebuild_tiles from the stored leaves", t_reb, c_reb, ratio(t_reb, c_reb)),
            (f"  {name}: root from the store, cold", p["root"], None, "a few tiles"),
            (f"  {name}: inclusion proof at N (median of 50)", p["inclusion"], None, ""),
            (f"  {name}: consistency proof at N (median of 50)", p["consistency"], None, ""),
            (
                f"append as ingest does into {name}",
                cw + aw,
                cc + ac,
                ratio(cw + aw, cc + ac),
            ),
            (f"  {name}: columnar form (entry_rows)", cw, cc, ratio(cw, cc)),
            (f"  {name}: append_data (hashes, entries, tiles)", aw, ac, ratio(aw, ac)),
        ]
    _print(n, mb, root, rows)


def _print(n: int, mb: float, root: bytes, rows: list[Row]) -> None:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"\nledger benchmark: N = {n:,} entries, {mb:,.0f} MB of canonical bytes")
    print(f"root = {root.hex()}; load average at the end {load}\n")
    print(f"{'stage':<52} {'wall s':>11} {'CPU s':>9}  note")
    print("-" * 96)
    for name, wall, cpu, note in rows:
        val = f"{wall:>11,.0f}" if note == "rate" else f"{wall:>11.4f}"
        c = "" if cpu is None else f"{cpu:.2f}"
        print(f"{name:<52} {val} {c:>9}  {'' if note == 'rate' else note}")


if __name__ == "__main__":
    main()
