"""How long checking a day of a million observations takes, and where the time goes.

Reads the bench's observations (``observations.parquet``, 1M rows by default)
as incidents (status ``reported``, confidence 0.5, no attribution), classifies
them once against an agreement and runs every rule on the arrays. Two
agreements: the bench's own zones (``zones.geojson``, with a band rule for all
classes and the exclusion zone barring military activity) and the shipped
``examples/reference-2025`` agreement.

    .venv/bin/python benchmarks/compliance_speed.py [--work /tmp/truceline-bench] [--limit N]
    .venv/bin/python benchmarks/compliance_speed.py --store [--limit N]

``--store`` measures ``truceline check`` end to end instead: a SQLite workspace with
the reference agreement and the observations stored as incidents of one day
(2025-12-15, inside the agreement's validity), then ``check`` with its own split
of the time into reading, rules and storing findings.
"""

from __future__ import annotations

import argparse
import json
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


def store_run(work: Path, limit: int | None) -> None:
    import tempfile

    from truceline.service.agreements import load_agreement
    from truceline.service.compliance import check
    from truceline.service.workspace import create_workspace
    from truceline.store.schema import incidents

    inc = read(work, limit)
    day = 1765756800  # 2025-12-15
    t = day + (inc.t - inc.t.min()) % 86400
    with tempfile.TemporaryDirectory() as tmp:
        ws = create_workspace(Path(tmp) / "ws")
        load_agreement(ws, ROOT / "examples/reference-2025/agreement.toml")
        kinds = inc.table.column("kind").to_pylist()
        weapons = inc.table.column("weapon_class").to_pylist()
        rows = [
            {"id": int(i), "t": int(tt), "t_start": int(tt), "t_end": int(tt), "lon": float(x),
             "lat": float(y), "radius_m": float(r), "kind": k, "weapon_class": w, "count": 1,
             "status": "reported", "n_observations": 1, "n_groups": 1, "confidence": 0.5,
             "created_at": day, "updated_at": day}
            for i, tt, x, y, r, k, w in zip(inc.id, t, inc.lon, inc.lat, inc.radius_m, kinds,
                                            weapons, strict=True)
        ]  # fmt: skip
        with ws.engine.begin() as conn:
            for k in range(0, len(rows), 50_000):
                conn.execute(incidents.insert(), rows[k : k + 50_000])
        del rows
        t0 = time.perf_counter()
        res = check(ws, now=day + 86400)
        total = time.perf_counter() - t0
        split = ", ".join(f"{k} {v:.2f} s" for k, v in res.timings.items())
        print(f"check of {res.incidents} incidents: {total:.2f} s ({split}); "
              f"{len(res.new)} findings")  # fmt: skip
        ws.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/truceline-bench"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--store", action="store_true", help="check end to end on a SQLite store")
    args = ap.parse_args()
    if args.store:
        store_run(args.work, args.limit)
        return
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


if __name__ == "__main__":
    main()
