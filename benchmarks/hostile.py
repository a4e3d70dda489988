#!/usr/bin/env python3
"""Every hostile input of issue 15, each through the real CLI in its own process.

    .venv/bin/python benchmarks/hostile.py [--db postgresql+psycopg://...] [--only NAME]

A workspace first holds good data: 1,000 observations and the Minsk agreement (a
SQLite file; with ``--db`` a fresh database on that PostgreSQL server, dropped at
the end). Then each case runs as ``truceline ...`` in a child process and the table
gives its exit code, the first line it printed (stderr, else stdout), its peak RSS
(``os.wait4``: that child's own maximum resident set) and its wall time, and whether
the data stored before is intact: the rows and ledger entries that existed before
are byte for byte the same, and ``ledger verify-store`` is clean. The intake cases
are those of ``tests/test_intake_hostile.py`` at the sizes the reliability run
used; the agreement cases those of ``tests/test_agreement_errors.py``.

The raw rows are read with SQLAlchemy here (not through the store) on purpose: the
point is to look at the database past the code under test.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from truceline.service.agreements import load_agreement
from truceline.service.ingest import ingest_files
from truceline.service.ledger import verify_store
from truceline.service.workspace import Workspace, create_workspace
from truceline.store.schema import ledger_entries, observations

ROOT = Path(__file__).resolve().parents[1]
MINSK = ROOT / "examples" / "minsk-2015"
HEADER = "client_id,t,lon,lat,radius_m,kind,source_id,source_type\n"
T0 = 1_740_787_200
TIMEOUT_S = 600
THEN = "&&"  # between the commands of a case that runs several, one after the other


def _row(i: int, t: object = None, kind: str = "shot", source: str = "wire-1") -> str:
    return f"h-{i},{T0 + i if t is None else t},37.5,48.0,100,{kind},{source},osint\n"


def _csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _good(i: int, **kw: object) -> dict[str, object]:
    rec: dict[str, object] = {"client_id": f"j-{i}", "t": T0 + i, "lon": 37.5, "lat": 48.0,
                              "radius_m": 10, "kind": "shot", "source_id": "wire-2",
                              "source_type": "osint"}  # fmt: skip
    return {**rec, **kw}


# -- the cases: each writes its input into d and returns the CLI arguments -----------------

Build = Callable[[Path], list[str]]
CASES: dict[str, Build] = {}


def case(name: str) -> Callable[[Build], Build]:
    def add(fn: Build) -> Build:
        CASES[name] = fn
        return fn

    return add


@case("csv t = -99999999999 (year -1199)")
def _(d: Path) -> list[str]:
    return ["ingest", str(_csv(d / "t.csv", [_row(1), _row(2, -99_999_999_999), _row(3)]))]


@case("csv years 0001 and 9999")
def _(d: Path) -> list[str]:
    rows = [_row(1, "0001-01-01T00:00:00Z"), _row(2, "9999-12-31T00:00:00Z"), _row(3)]
    return ["ingest", str(_csv(d / "ends.csv", rows))]


@case("parquet timestamps at years -1199 and 9999")
def _(d: Path) -> list[str]:
    ms = [1_740_787_200_000, -99_999_999_999_000, 253_402_214_400_000]
    cols = {"client_id": ["pa", "pb", "pc"], "t": pa.array(ms, pa.timestamp("ms", "UTC")),
            "lon": [37.5] * 3, "lat": [48.0] * 3, "radius_m": [100.0] * 3, "kind": ["shot"] * 3,
            "source_id": ["wire-3"] * 3, "source_type": ["osint"] * 3}  # fmt: skip
    pq.write_table(pa.table(cols), d / "far.parquet")
    return ["ingest", str(d / "far.parquet")]


@case("csv t = 99999999999999999 in row 60,002 of 60,010")
def _(d: Path) -> list[str]:
    rows = [_row(10_000 + i) for i in range(60_010)]
    rows[60_000] = _row(70_000, "99999999999999999")
    return ["ingest", str(_csv(d / "big.csv", rows))]


@case("jsonl integer above int64")
def _(d: Path) -> list[str]:
    lines = [json.dumps(_good(1, count=2**70)), json.dumps(_good(2))]
    return ["ingest", str(_jsonl(d / "int.jsonl", lines))]


@case("jsonl nesting depth 100,000")
def _(d: Path) -> list[str]:
    lines = ["[" * 100_000 + "]" * 100_000, json.dumps(_good(3))]
    return ["ingest", str(_jsonl(d / "deep.jsonl", lines))]


@case("jsonl coordinate true")
def _(d: Path) -> list[str]:
    return ["ingest", str(_jsonl(d / "bool.jsonl", [json.dumps(_good(4, lon=True))]))]


@case("jsonl NUL byte in a field")
def _(d: Path) -> list[str]:
    lines = [json.dumps(_good(5, description="a\u0000b")), json.dumps(_good(6))]
    return ["ingest", str(_jsonl(d / "nul.jsonl", lines))]


@case("jsonl value of 200 MB")
def _(d: Path) -> list[str]:
    path = d / "huge.jsonl"
    with path.open("w", encoding="utf-8") as f:
        f.write('{"description": "')
        for _ in range(200):
            f.write("x" * (1 << 20))
        f.write('"}\n' + json.dumps(_good(7)) + "\n")
    return ["ingest", str(path)]


@case("csv value over 4 MB")
def _(d: Path) -> list[str]:
    path = d / "wide-value.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER + _row(20))
        f.write(f"h-21,{T0},37.5,48,10,{'x' * (12 << 20)},wire-1,osint\n")
    return ["ingest", str(path)]


@case("csv field of 10,001 characters")
def _(d: Path) -> list[str]:
    head = HEADER.strip() + ",description\n"
    rows = [_row(22).strip() + "," + "d" * 10_001 + "\n", _row(23).strip() + ",short\n"]
    return ["ingest", str(_csv(d / "long.csv", rows, head))]


@case("csv duplicate column lon")
def _(d: Path) -> list[str]:
    path = _csv(d / "dup.csv", [_row(24).strip() + ",99\n"], HEADER.strip() + ",lon\n")
    return ["ingest", str(path)]


@case("csv 600 columns")
def _(d: Path) -> list[str]:
    head = HEADER.strip() + "," + ",".join(f"x{i}" for i in range(600)) + "\n"
    return ["ingest", str(_csv(d / "wide.csv", [], head))]


@case("csv in UTF-16")
def _(d: Path) -> list[str]:
    (d / "u16.csv").write_bytes((HEADER + _row(25)).encode("utf-16"))
    return ["ingest", str(d / "u16.csv")]


for _ext in (".json", ".geojson", ".csv", ".parquet"):

    @case(f"random bytes as {_ext}")
    def _(d: Path, ext: str = _ext) -> list[str]:
        path = d / f"noise{ext}"
        path.write_bytes(os.urandom(16_384))
        return ["ingest", str(path)]


@case("geojson polygon of 5M vertices")
def _(d: Path) -> list[str]:
    path = d / "poly.geojson"
    with path.open("w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
                '"geometry":{"type":"Polygon","coordinates":[[')  # fmt: skip
        for _ in range(50):
            f.write("[37.5,48.0]," * 100_000)
        f.write("[37.5,48.0]]]}}]}")
    return ["ingest", str(path)]


@case("parquet bomb: 9M rows in one zstd row group")
def _(d: Path) -> list[str]:
    n = 9_000_000
    table = pa.table({"lon": pa.array([1.0], pa.float64()).take(pa.array([0] * n))})
    pq.write_table(table, d / "bomb.parquet", row_group_size=n, compression="zstd")
    return ["ingest", str(d / "bomb.parquet")]


@case("parquet of 20M bad rows (refused, counted)")
def _(d: Path) -> list[str]:
    n = 1_000_000
    one = pa.table({"client_id": pa.array(["b"] * n).dictionary_encode(),
                    "t": pa.array([T0] * n, pa.int64()), "lon": [37.5] * n, "lat": [48.0] * n,
                    "radius_m": [10.0] * n, "kind": pa.array(["nonsense"] * n).dictionary_encode(),
                    "source_id": pa.array(["wire-4"] * n).dictionary_encode()})  # fmt: skip
    with pq.ParquetWriter(d / "bad.parquet", one.schema, compression="zstd") as w:
        for _ in range(20):
            w.write_table(one)
    return ["ingest", str(d / "bad.parquet")]


@case("source ids that look like SQL and a path")
def _(d: Path) -> list[str]:
    rows = [_row(30, source="'); DROP TABLE observations;--"), _row(31, source="../../etc/passwd")]
    return ["ingest", str(_csv(d / "names.csv", rows))]


@case("source id with Rich markup, then sources list and show")
def _(d: Path) -> list[str]:
    _csv(d / "markup.csv", [_row(32, source="[/bold]x[red]")])
    return ["ingest", str(d / "markup.csv"), THEN, "sources", "list", THEN, "sources", "show",
            "[/bold]x[red]"]  # fmt: skip


@case("ingest --errors truceline.db")
def _(d: Path) -> list[str]:
    return ["ingest", str(_csv(d / "e.csv", [_row(33, kind="nonsense")])), "--errors", "@DB"]


@case("ledger export --out truceline.db")
def _(d: Path) -> list[str]:
    return ["ledger", "export", "--out", "@DB"]


@case("ledger head --out truceline.db")
def _(d: Path) -> list[str]:
    return ["ledger", "head", "--out", "@DB"]


@case("ledger export --out /proc/self/mem")
def _(d: Path) -> list[str]:
    return ["ledger", "export", "--out", "/proc/self/mem"]


def _agreement(d: Path, edit: Callable[[str], str]) -> Path:
    out = d / "agreement"
    shutil.copytree(MINSK, out)
    toml = out / "agreement.toml"
    text = toml.read_text(encoding="utf-8").replace("version = 1", "version = 2", 1)
    toml.write_text(edit(text), encoding="utf-8")
    return out


AGREEMENTS: dict[str, Callable[[str], str]] = {
    "band_km = 1e9": lambda t: t.replace("band_km = 25", "band_km = 1e9"),
    "width_km = nan": lambda t: t.replace("width_km = 30", "width_km = nan"),
    "TOML 100k deep": lambda t: t.replace(
        "[[parties]]", "x = " + "[" * 100_000 + "]" * 100_000 + "\n\n[[parties]]", 1
    ),
    "length_km = 0.0001": lambda t: t.replace("length_km = 50", "length_km = 0.0001"),
    "two party points on one side": lambda t: t.replace(
        "point = [37.8042, 48.0089]", "point = [37.56, 48.73]"
    ),
    "party point outside the region": lambda t: t.replace(
        "point = [37.5556, 48.7208]", "point = [30.5, 50.4]"
    ),
    "region of 2M vertices": lambda t: t,
}

for _name, _edit in AGREEMENTS.items():

    @case(f"agreement {_name}")
    def _(d: Path, name: str = _name, edit: Callable[[str], str] = _edit) -> list[str]:
        out = _agreement(d, edit)
        if name == "region of 2M vertices":
            (out / "region.geojson").write_text(
                '{"type":"Polygon","coordinates":[[' + "[37.5,48.0]," * 2_000_000
                + "[37.5,48.0]]]}", encoding="utf-8",
            )  # fmt: skip
        return ["agreement", "load", str(out)]


# -- running them -----------------------------------------------------------------------


@dataclass
class Result:
    name: str
    exit: int | str
    message: str
    peak_mb: float
    seconds: float
    intact: bool


def _snapshot(ws: Workspace, n_obs: int, n_leaves: int) -> str:
    """A digest of the first ``n_obs`` observations and ``n_leaves`` ledger entries."""
    h = hashlib.sha256()
    with ws.engine.connect() as conn:
        for t, key, n in ((observations, observations.c.id, n_obs),
                          (ledger_entries, ledger_entries.c.idx, n_leaves)):  # fmt: skip
            for row in conn.execute(sa.select(t).order_by(key).limit(n)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def _sizes(ws: Workspace) -> tuple[int, int]:
    with ws.engine.connect() as conn:
        obs = conn.execute(sa.select(sa.func.count()).select_from(observations)).scalar_one()
        leaves = conn.execute(sa.select(sa.func.count()).select_from(ledger_entries)).scalar_one()
    return int(obs), int(leaves)


def _first_line(*texts: str) -> str:
    """The first line printed (with the next one when it ends in a colon: the first
    problem named under a count of problems), without terminal codes."""
    for text in texts:
        lines = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", x).strip(" │┃|") for x in text.splitlines()]
        lines = [x.strip() for x in lines if x.strip()]
        if lines:
            return " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]
    return ""


def _run(cmd: list[str], d: Path) -> tuple[int | str, str, float]:
    """Run one command in ``d``: its exit, its first line, its own peak RSS in MB.

    The peak comes from ``/usr/bin/time`` rather than this process's ``wait4``: a
    child's maximum RSS on Linux starts at its parent's size at the fork, and this
    process holds the cases' data."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}
    out, err, rss = d / "stdout", d / "stderr", d / "rss"
    with out.open("wb") as o, err.open("wb") as e:
        timed = ["/usr/bin/time", "-f", "%x %M", "-o", str(rss), *cmd]
        proc = subprocess.Popen(timed, stdout=o, stderr=e, env=env, cwd=d)
        try:
            proc.wait(TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return "timeout", f"still running after {TIMEOUT_S} s", float("nan")
    last = rss.read_text().split("\n")[-2]  # "Command terminated by signal N" may come first
    code, kb = last.split()
    signalled = re.search(r"signal (\d+)", rss.read_text())
    message = _first_line(err.read_text("utf-8", "replace"), out.read_text("utf-8", "replace"))
    return (f"signal {signalled[1]}" if signalled else int(code)), message, int(kb) / 1024


def run_case(name: str, ws: Workspace, d: Path) -> Result:
    """The case's commands in turn (stopping at the first that fails); the last one run
    gives the exit and the message, the peak is the largest of them."""
    cli = [sys.executable, "-c", "from truceline.cli import main; main()", "--db", ws.url]
    db_file = ws.engine.url.database if ws.url.startswith("sqlite") else None
    argv = [(db_file or str(d / "truceline.db")) if a == "@DB" else a for a in CASES[name](d)]
    steps: list[list[str]] = [[]]
    for a in argv:
        steps.append([]) if a == THEN else steps[-1].append(a)
    start = time.perf_counter()
    peak, code, message = 0.0, 0, ""
    for step in steps:
        code, message, rss = _run([*cli, *step], d)
        peak = max(peak, rss)
        if code != 0:
            break
    seconds = time.perf_counter() - start
    message = message.replace(f"{d}/", "")  # the file's name, not the temporary folder
    return Result(name, code, message[:150], peak, seconds, False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="a PostgreSQL server URL (default: a SQLite file)")
    ap.add_argument("--only", help="run only the cases whose name contains this")
    args = ap.parse_args()
    names = [n for n in CASES if args.only is None or args.only in n]
    with tempfile.TemporaryDirectory(prefix="truceline-hostile-") as tmp_name:
        tmp = Path(tmp_name)
        url, drop = None, None
        if args.db:
            admin = sa.create_engine(args.db, isolation_level="AUTOCOMMIT")
            db = f"truceline_hostile_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
            url = args.db.rsplit("/", 1)[0] + f"/{db}"

            def drop() -> None:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

        try:
            ws = create_workspace(tmp / "ws", url)
            good = _csv(
                tmp / "good.csv", [_row(-1_000 + i, source=f"wire-{i % 3}") for i in range(1_000)]
            )
            ingest_files(ws, [good])
            load_agreement(ws, MINSK)
            n_obs, n_leaves = _sizes(ws)
            before = _snapshot(ws, n_obs, n_leaves)
            results = []
            for name in names:
                d = tmp / f"case{len(results)}"
                d.mkdir()
                r = run_case(name, ws, d)
                ws.engine.dispose()
                r.intact = _snapshot(ws, n_obs, n_leaves) == before and verify_store(ws).ok
                results.append(r)
                print(f"| {r.name} | {r.exit} | {r.message} | {r.peak_mb:,.0f} | {r.seconds:.1f} | "
                      f"{'yes' if r.intact else 'NO'} |", flush=True)  # fmt: skip
                shutil.rmtree(d)
            ws.engine.dispose()
        finally:
            if drop is not None:
                drop()
    store = "PostgreSQL" if args.db else "SQLite"
    print(f"\n{store}; load average {os.getloadavg()[0]:.1f}\n")
    print("| case | exit | message (first line) | peak RSS MB | s | data intact |")
    print("|---|---:|---|---:|---:|---|")
    for r in results:
        print(f"| {r.name} | {r.exit} | {r.message} | {r.peak_mb:,.0f} | {r.seconds:.1f} | "
              f"{'yes' if r.intact else 'NO'} |")  # fmt: skip


if __name__ == "__main__":
    main()
