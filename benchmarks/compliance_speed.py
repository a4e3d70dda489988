"""How long checking a day of a million observations takes, in memory and through the store.

Reads the bench's observations (``observations.parquet``, 1M rows by default)
as incidents (status ``reported``, confidence 0.5, no attribution), classifies
them once against an agreement and runs every rule on the arrays. Two
agreements: the bench's own zones (``zones.geojson``, with a band rule for all
classes and the exclusion zone barring military activity) and the shipped
``examples/reference-2025`` agreement.

Then, in the same run, ``truceline check`` end to end against the same work in
memory: a SQLite workspace (or ``--db URL``, a PostgreSQL database made for the run
and dropped after) with the reference agreement, the bench's sources, each
observation stored and fused into an incident of its own on one day (2025-12-15,
inside the agreement's validity); then ``check`` (all findings new), ``check``
again (nothing changed, nothing written), and the pure ``judge`` on the same
incidents in memory. The zone index is built once first (both paths reuse it), so
the ratio is the store's cost over the core's. On PostgreSQL the CPU of the check
counts its server backend's too (from ``/proc``, the server being on this machine):
work moved into the database is not work saved. The bench's database runs no
parallel workers (``max_parallel_workers_per_gather`` 0), so that backend does all
of the server's work.

    .venv/bin/python benchmarks/compliance_speed.py [--work /tmp/truceline-bench] [--limit N]
        [--db postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--no-store]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from shapely.geometry import shape

from truceline.compliance.agreement import load_agreement_file
from truceline.compliance.agreement.model import Agreement, Party, Rule, Zone
from truceline.compliance.rules import Context, Incidents, evaluate
from truceline.compliance.zoneview import zone_view

ROOT = Path(__file__).resolve().parents[1]


def bench_agreement(work: Path) -> Agreement:
    doc = json.loads((work / "zones.geojson").read_text(encoding="utf-8"))
    zones = []
    for f in doc["features"]:
        p = f["properties"]
        bars = frozenset({"military"}) if p["kind"] == "exclusion" else frozenset()
        zones.append(
            Zone(p["id"], p["kind"], p["party"] or None, p["weapon_class"] or None,
                 p["band_km"], shape(f["geometry"]), bars)
        )  # fmt: skip
    excl = [z.id for z in zones if z.kind == "exclusion"]
    rules = [Rule("bands", "withdrawal_band", "bands", {"weapon_classes": []})]
    rules += [Rule(f"excl-{z}", "exclusion", "exclusion", {"zone": z}) for z in excl]
    parties = (Party("A", "A"), Party("B", "B"))
    return Agreement("bench", 1, "bench zones", 0, None, parties, tuple(zones), tuple(rules))


def read(work: Path, limit: int | None) -> Incidents:
    t = pq.read_table(work / "observations.parquet")
    if limit:
        t = t.slice(0, limit)
    n = t.num_rows
    table = pa.table(
        {
            "id": t["id"],
            "t": pc.divide(t["t"].cast(pa.int64()), 1000),
            "lon": t["lon"],
            "lat": t["lat"],
            "radius_m": t["radius_m"].cast(pa.float64()),
            "kind": t["kind"],
            "weapon_class": pc.if_else(pc.equal(t["weapon_class"], ""), None, t["weapon_class"]),
            "count": pa.array([1] * n, pa.int64()),
            "status": pa.array(["reported"] * n, pa.string()),
            "confidence": pa.array([0.5] * n, pa.float64()),
        }
    )
    return Incidents(table)


def run(a: Any, inc: Incidents) -> dict[str, float]:
    t0 = time.perf_counter()
    view = zone_view(a, inc.lon, inc.lat)  # builds the index once, then classifies
    t1 = time.perf_counter()
    view = zone_view(a, inc.lon, inc.lat)  # classify alone (index cached)
    t2 = time.perf_counter()
    day = (int(inc.t.min()), int(inc.t.max()) + 1)  # the data's span: "now" for duties
    found = evaluate(Context(a, inc, view, (), t_from=day[0], t_to=day[1]))
    t3 = time.perf_counter()
    return {"index_and_classify_s": t1 - t0, "classify_s": t2 - t1, "rules_s": t3 - t2,
            "findings": len(found)}  # fmt: skip


DAY = 1765756800  # 2025-12-15


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t: tuple[float, float]) -> str:
    wall, cpu = time.perf_counter() - t[0], time.process_time() - t[1]
    return f"{wall:.2f} s wall, {cpu:.2f} s CPU"


def _backend_cpu(ws: Any) -> tuple[int, float] | None:
    """The pid of the PostgreSQL backend of the workspace's pooled connection (the one a
    check will use) and its CPU seconds so far; None on SQLite."""
    if ws.engine.dialect.name != "postgresql":
        return None
    from sqlalchemy import text

    with ws.engine.connect() as c:
        pid = int(c.execute(text("SELECT pg_backend_pid()")).scalar_one())
    own = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return pid, (int(own[11]) + int(own[12])) / os.sysconf("SC_CLK_TCK")


def _store_day(ws: Any, work: Path, inc: Incidents, t: Any) -> None:
    """The bench's sources, and each observation stored as an incident of its own."""
    from truceline.store.bulk import insert_many
    from truceline.store.schema import incident_observations, incidents, observations, sources

    src = pq.read_table(work / "observations.parquet", columns=["source_id", "source_type"])
    src = src.slice(0, len(inc))
    names, types = src["source_id"].to_pylist(), src["source_type"].to_pylist()
    pairs = sorted(set(zip(names, types, strict=True)))
    srows = [(s, k, s, s.removeprefix("party-") if k == "party" else None, s, DAY)
             for s, k in pairs]  # fmt: skip
    ids = inc.id.tolist()
    ts = t.tolist()
    kinds = inc.table.column("kind").to_pylist()
    weapons = inc.table.column("weapon_class").to_pylist()
    lon, lat, rad = inc.lon.tolist(), inc.lat.tolist(), inc.radius_m.tolist()
    orows = [
        (i, f"bench-{i}", s, tt, 60.0, x, y, r, k, w, 1, 3, DAY, i)
        for i, s, tt, x, y, r, k, w in zip(
            ids, src["source_id"].to_pylist(), ts, lon, lat, rad, kinds, weapons, strict=True
        )
    ]
    irows = [
        (i, tt, tt, tt, x, y, r, k, w, 1, "reported", 1, 1, 0.5, DAY, DAY)
        for i, tt, x, y, r, k, w in zip(ids, ts, lon, lat, rad, kinds, weapons, strict=True)
    ]
    with ws.engine.begin() as conn:
        cols = ("id", "type", "name", "party", "independence_group", "created_at")
        insert_many(conn, sources, cols, srows)
        cols = ("id", "uid", "source_id", "t", "t_unc_s", "lon", "lat", "radius_m", "kind",
                "weapon_class", "count", "credibility", "received_at", "ledger_index")  # fmt: skip
        insert_many(conn, observations, cols, orows)
        cols = ("id", "t", "t_start", "t_end", "lon", "lat", "radius_m", "kind", "weapon_class",
                "count", "status", "n_observations", "n_groups", "confidence", "created_at",
                "updated_at")  # fmt: skip
        insert_many(conn, incidents, cols, irows)
        insert_many(conn, incident_observations, ("observation_id", "incident_id"),
                    [(i, i) for i in ids])  # fmt: skip


def _fresh_db(spec: str | None, tmp: Path) -> tuple[str | None, Any]:
    """``spec`` None: a SQLite file in ``tmp``; a PostgreSQL URL: a fresh database on
    that server, and a function that drops it."""
    if spec is None:
        return None, lambda: None
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"truceline_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(spec, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
        # every query in its one backend, whose CPU is then the server's whole share
        c.execute(text(f'ALTER DATABASE "{name}" SET max_parallel_workers_per_gather = 0'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(spec).set(database=name).render_as_string(hide_password=False), drop


def store_run(work: Path, limit: int | None, db: str | None) -> None:
    """``check`` through the store against ``judge`` in memory, on the same incidents."""
    import tempfile

    from truceline.compliance.rules import Notifications
    from truceline.service.agreements import load_agreement
    from truceline.service.compliance import check, judge
    from truceline.service.workspace import create_workspace

    base = read(work, limit)
    t = DAY + (base.t - base.t.min()) % 86400
    stype = pq.read_table(work / "observations.parquet", columns=["source_type"])["source_type"]
    nonparty = pc.cast(pc.not_equal(stype.slice(0, len(base)), "party"), pa.int64())
    table = base.table.set_column(1, "t", pa.array(t, pa.int64()))
    inc = Incidents(table.set_column(table.column_names.index("nonparty"), "nonparty", nonparty))
    a = load_agreement_file(ROOT / "examples/reference-2025/agreement.toml")
    clock = _clock()
    zone_view(a, inc.lon[:1], inc.lat[:1])
    print(f"zone index of reference-2025 (built once, used by both): {_since(clock)}")
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = _fresh_db(db, Path(tmp))
        try:
            ws = create_workspace(Path(tmp) / "ws", url)
            load_agreement(ws, ROOT / "examples/reference-2025/agreement.toml")
            clock = _clock()
            _store_day(ws, work, inc, t)
            print(f"stored {len(inc)} observations and incidents: {_since(clock)}")
            now = DAY + 86400
            runs = []
            for what in ("check (all new)", "check again (unchanged)"):
                server = _backend_cpu(ws)
                clock = _clock()
                res = check(ws, now=now)
                cpu = time.process_time() - clock[1]
                runs.append((time.perf_counter() - clock[0], cpu))
                after = _backend_cpu(ws)
                if server is not None and after is not None:
                    if after[0] != server[0]:
                        raise SystemExit("the check used another PostgreSQL backend")
                    runs[-1] = (runs[-1][0], cpu + after[1] - server[1])
                split = ", ".join(f"{k} {v:.2f} s wall {res.cpu[k]:.2f} s CPU"
                                  for k, v in res.timings.items())  # fmt: skip
                print(f"{what} of {res.incidents} incidents: {_since(clock)} ({split}); "
                      f"{len(res.new)} new, {len(res.updated)} updated, "
                      f"{res.unchanged} unchanged")  # fmt: skip
                if runs[-1][1] != cpu:
                    print(f"  its PostgreSQL backend: {runs[-1][1] - cpu:.2f} s CPU, "
                          f"with the client {runs[-1][1]:.2f} s CPU")  # fmt: skip
                if not runs[1:]:
                    stored = {f.key: f.incidents for f in res.new}
            ws.engine.dispose()
        finally:
            drop()
    valid_from = int(a.valid_from)
    clock = _clock()
    found = judge(a, inc, [], Notifications(), valid_from, now, now)
    mem = (time.perf_counter() - clock[0], time.process_time() - clock[1])
    print(f"judge in memory of {len(inc)} incidents: {_since(clock)}; {len(found)} findings")
    same = stored == {f.key: f.incidents for f in found}
    print(f"same findings (keys and incidents) in memory and through the store: {same}")
    for what, (wall, cpu) in zip(("check", "check again"), runs, strict=True):
        print(f"{what} / in memory: {wall / mem[0]:.2f}x wall, {cpu / mem[1]:.2f}x CPU"
              + (" (client and server)" if db else ""))  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/truceline-bench"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--db", default=None, help="a PostgreSQL URL (default: a SQLite file)")
    ap.add_argument("--no-store", action="store_true", help="in memory only")
    args = ap.parse_args()
    t0 = time.perf_counter()
    inc = read(args.work, args.limit)
    t_read = time.perf_counter() - t0
    print(f"read {len(inc)} observations as incidents: {t_read:.2f} s")
    for name, a in (
        ("bench zones", bench_agreement(args.work)),
        ("reference-2025", load_agreement_file(ROOT / "examples/reference-2025/agreement.toml")),
    ):
        r = run(a, inc)
        print(f"{name}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in r.items()))  # fmt: skip
    if not args.no_store:
        store_run(args.work, args.limit, args.db)


if __name__ == "__main__":
    main()
