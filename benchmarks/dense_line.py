"""Classifying points against a dense contact line: 4,300 segments against 50,000.

A contact line traced from a control map can have tens of thousands of segments
of a few tens of metres. This benchmark classifies the bench's observations
(``observations.parquet``, 1M rows by default) against the bench's zones
(``zones.geojson``: 200 sectors, two control areas, bands, an exclusion zone and a
contact line of 4,325 vertices), then against the same zones with the contact line
made dense: split into ``--segments`` pieces with every inner vertex moved by a
seeded normal jitter of ``--jitter-m`` metres (a traced line's wiggle), the rest
unchanged. The dense line is classified as ``ZoneIndex`` does by default (far points
measured on a copy simplified within 50 m, see ``geo.zones``) and exactly
(``line_tolerance_m=0``). Then, the distance alone, on both lines and on the real
line of ``truceline agreement build`` from ``deepstate_status_2022-04-03.geojson``
(``--real``) and its dense copy, exact and within 50 m. Each figure is the best of
``--repeat`` runs (CPU and wall); every distance is checked against shapely's on a
sample.

    .venv/bin/python benchmarks/dense_line.py [--work /tmp/truceline-bench] [--limit N]
        [--segments 50000] [--jitter-m 15] [--real ../shared/data/real]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import shapely
from shapely.geometry import mapping, shape

from truceline.geo.lines import SegmentIndex
from truceline.geo.projection import Projector
from truceline.geo.zones import ZoneIndex

ROOT = Path(__file__).resolve().parents[1]


def dense(line: Any, segments: int, jitter_m: float, seed: int = 1) -> Any:
    """``line`` (lon/lat) split into about ``segments`` equal pieces, inner vertices
    jittered by ``jitter_m`` metres (in a local projection), back in lon/lat."""
    proj = Projector.for_bounds(*shapely.bounds(line))
    metric = proj.geometry_forward(line)
    xy = shapely.get_coordinates(shapely.segmentize(metric, metric.length / segments))
    xy[1:-1] += np.random.default_rng(seed).normal(0.0, jitter_m, size=(len(xy) - 2, 2))
    return proj.geometry_inverse(shapely.LineString(xy))


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(CPU s, wall s, result) of the fastest of ``repeat`` runs."""
    cpu, wall, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall, out


def segments_of(line: Any) -> int:
    return sum(len(shapely.get_coordinates(p)) - 1 for p in shapely.get_parts(line))


def contact_line(feats: list[dict[str, Any]]) -> Any:
    return next(shape(f["geometry"]) for f in feats if f["properties"]["kind"] == "contact_line")


def classify_pair(
    work: Path, lon: Any, lat: Any, segments: int, jitter: float, repeat: int
) -> None:
    feats = json.loads((work / "zones.geojson").read_text(encoding="utf-8"))["features"]
    thick = [
        {**f, "geometry": mapping(dense(shape(f["geometry"]), segments, jitter))}
        if f["properties"]["kind"] == "contact_line"
        else f
        for f in feats
    ]
    out = {}
    for label, fs, kw in (
        ("bench line", feats, {}),
        ("dense line, far points within 50 m", thick, {}),
        ("dense line, exact", thick, {"line_tolerance_m": 0.0}),
    ):
        index = ZoneIndex.from_features(fs, **kw)
        index.classify(lon[:1000], lat[:1000])  # the raster, built once
        cpu, wall, c = best_of(repeat, lambda index=index: index.classify(lon, lat))
        out[label] = (cpu, wall, c)
        print(f"classify {len(lon)} points, {label} ({segments_of(contact_line(fs))} "
              f"segments): {cpu:.2f} s CPU, {wall:.2f} s wall")  # fmt: skip
    c0, w0, a = out["bench line"]
    for label in ("dense line, far points within 50 m", "dense line, exact"):
        c1, w1, b = out[label]
        same = all(
            np.array_equal(getattr(a, k), getattr(b, k)) for k in ("sector", "party", "zones")
        )
        print(f"classify {label} / bench line: {c1 / c0:.2f}x CPU, {w1 / w0:.2f}x wall "
              f"(sector, party and zones equal: {same})")  # fmt: skip
    fast, exact = out["dense line, far points within 50 m"][2], out["dense line, exact"][2]
    err = np.abs(fast.dist_km - exact.dist_km) * 1000
    close = exact.dist_km <= 0.05
    print(f"dense line, far points within 50 m against exact: largest difference "
          f"{err.max():.1f} m, "
          f"{(err > 0).mean():.1%} of points differ, those within 50 m of the line "
          f"equal: {bool((err[close] == 0).all())}")  # fmt: skip


def distance_pair(line: Any, label: str, lon: Any, lat: Any, segments: int, jitter: float,
                  repeat: int) -> None:  # fmt: skip
    proj = Projector.for_bounds(*shapely.bounds(line))
    px, py = proj.forward(lon, lat)
    times = {}
    dense_line = dense(line, segments, jitter)
    for name, geom, tol in ((label, line, 0.0), (f"{label}, dense, exact", dense_line, 0.0),
                            (f"{label}, dense, within 50 m", dense_line, 50.0)):  # fmt: skip
        parts = [np.column_stack(proj.forward(*shapely.get_coordinates(p).T))
                 for p in shapely.get_parts(geom)]  # fmt: skip
        index = SegmentIndex(parts, tolerance_m=tol)
        cpu, wall, d = best_of(repeat, lambda index=index: index.distance(px, py))
        times[name] = cpu
        sample = np.random.default_rng(2).choice(len(px), min(len(px), 20_000), replace=False)
        ref = shapely.distance(
            shapely.points(px[sample], py[sample]), shapely.MultiLineString(parts)
        )
        err = float(np.abs(d[sample] - ref).max())
        print(f"distance of {len(px)} points to {name} ({index.n_segments} segments, "
              f"coarse copy {index.n_coarse}): {cpu:.2f} s CPU, {wall:.2f} s wall; "
              f"largest difference from shapely on {len(sample)}: {err:.1e} m")  # fmt: skip
    base, *rest = times.items()
    for name, cpu in rest:
        print(f"distance {name} / {label}: {cpu / base[1]:.2f}x CPU")


def real_line(real: Path) -> Any:
    from truceline.compliance.agreement.build import build_from_control

    with tempfile.TemporaryDirectory() as tmp:
        built = build_from_control(
            real / "deepstate_status_2022-04-03.geojson",
            dt.date(2022, 4, 3),
            Path(tmp) / "built",
            real / "ukraine_adm0.geojson",
        )
    return built.agreement.contact_line


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("/tmp/truceline-bench"))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--segments", type=int, default=50_000)
    ap.add_argument("--jitter-m", type=float, default=15.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    args = ap.parse_args()
    t = pq.read_table(args.work / "observations.parquet", columns=["lon", "lat"])
    if args.limit:
        t = t.slice(0, args.limit)
    lon, lat = t["lon"].to_numpy(), t["lat"].to_numpy()
    classify_pair(args.work, lon, lat, args.segments, args.jitter_m, args.repeat)
    feats = json.loads((args.work / "zones.geojson").read_text(encoding="utf-8"))["features"]
    bench = contact_line(feats)
    distance_pair(bench, "bench line", lon, lat, args.segments, args.jitter_m, args.repeat)
    if (args.real / "deepstate_status_2022-04-03.geojson").is_file():
        line = real_line(args.real)
        distance_pair(line, "real line 2022-04-03", lon, lat, args.segments, args.jitter_m,
                      args.repeat)  # fmt: skip


if __name__ == "__main__":
    main()
