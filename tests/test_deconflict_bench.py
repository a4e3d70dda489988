"""The deconflict workload of the benchmark: its GeoJSON reader gives what ``json`` gives,
and its output on a small generated bench input equals the strtree peer's
(``check.py``), through the same public API the benchmark times."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import shapely
from conftest import BENCH_DIR, ROOT


def workload() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "deconflict_workload", ROOT / "benchmarks" / "workloads" / "deconflict.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def feature(k: int, geometry: str) -> str:
    return (
        f'{{"type": "Feature", "properties": {{"id": "V{k:06d}", "party": "A", '
        f'"activity": "flight", "shape": "polygon", "alt_min_m": {k}, "alt_max_m": {k + 50}, '
        f'"t_start": "2025-03-0{k}T00:00:0{k}Z", "t_end": "2025-03-0{k + 1}T12:00:00Z"}}, '
        f'"geometry": {geometry}}}'
    )


GEOMETRIES = [
    '{"type":"Polygon","coordinates":[[[30.1,45.2],[30.3,45.2],[30.2,45.4],[30.1,45.2]]]}',
    # a hole, a coordinate in exponent form and one with 17 significant digits
    '{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],'
    "[[1,1],[1e-05,2],[2,2.0000000000000004],[1,1]]]}",
    '{"type":"MultiPolygon","coordinates":[[[[10,10],[11,10],[11,11],[10,10]]],'
    "[[[12,12],[13,12],[13,13],[12,12]]]]}",
    '{"type":"Polygon","coordinates":[[[-33.5,-45.25],[-33.25,-45.25],[-33.25,-45],[-33.5,-45.25]]]}',
]


def test_reader_equals_json_for_holes_multipolygons_and_exponents(tmp_path: Path) -> None:
    mod = workload()
    lines = [feature(k + 1, g) for k, g in enumerate(GEOMETRIES)]
    text = '{"type": "FeatureCollection", "features": [\n' + ",\n".join(lines) + "\n]}\n"
    path = tmp_path / "volumes.geojson"
    path.write_text(text)
    got = mod.read_volumes(str(path))
    feats = json.loads(text)["features"]
    assert got["id"].tolist() == [f["properties"]["id"] for f in feats]
    assert got["alt_max_m"].tolist() == [f["properties"]["alt_max_m"] for f in feats]
    assert got["ts"][0] == np.datetime64("2025-03-01T00:00:01").astype(np.int64)
    want = shapely.from_geojson([json.dumps(f["geometry"]) for f in feats])
    # the ragged-array path itself, on the geometry texts as the bench writes them
    built = mod._polygons([g.encode() for g in GEOMETRIES])
    assert shapely.to_wkb(built).tolist() == shapely.to_wkb(want).tolist()
    assert shapely.to_wkb(got["geom"]).tolist() == shapely.to_wkb(want).tolist()
    assert shapely.get_num_interior_rings(got["geom"][1]) == 1
    assert got["geom"][1].interiors[0].coords[1] == (1e-05, 2.0)
    assert got["geom"][1].interiors[0].coords[2][1] == 2.0000000000000004
    # not one feature a line: read by json, the same answer
    path.write_text(json.dumps(json.loads(text), indent=2))
    again = mod.read_volumes(str(path))
    assert shapely.to_wkb(again["geom"]).tolist() == shapely.to_wkb(want).tolist()
    assert again["id"].tolist() == got["id"].tolist()


@pytest.mark.slow
def test_deconflict_workload_equals_the_strtree_peer(tmp_path: Path) -> None:
    if not (BENCH_DIR / "gen.py").is_file():
        pytest.skip(f"benchmark harness not found at {BENCH_DIR}")
    work = tmp_path / "bench"
    gen = [sys.executable, str(BENCH_DIR / "gen.py"), "--out", str(work)]
    subprocess.run([*gen, "--scale", "0.01", "--seed", "1"], check=True, capture_output=True)
    mod = workload()
    inputs = mod.load(str(work), None)
    ours = tmp_path / "ours.csv"
    n = mod.write(str(ours), inputs, mod.compute(inputs))
    assert n == len(inputs["q"]["id"]) > 0
    lines = ours.read_text().splitlines()
    assert lines[0] == "query_id,conflicts" and len(lines) == n + 1
    assert any(ln.split(",")[1] for ln in lines[1:])  # some queries do conflict
    peer = tmp_path / "peer.csv"
    run = [sys.executable, str(BENCH_DIR / "peers.py"), "deconflict", "--work", str(work)]
    subprocess.run(
        [*run, "--out", str(peer), "--peer", "strtree"],
        check=True,
        capture_output=True,
        cwd=BENCH_DIR,
    )
    chk = subprocess.run(
        [sys.executable, str(BENCH_DIR / "check.py"), "--work", str(work), str(peer), str(ours)],
        capture_output=True,
        text=True,
    )
    assert chk.returncode == 0, chk.stdout + chk.stderr
    assert ours.read_bytes() == peer.read_bytes()
