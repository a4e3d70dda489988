"""The classify workload on a small generated bench input equals the shapely peer
(``check.py``), through the same public API the benchmark times."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BENCH_DIR, ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (BENCH_DIR / "gen.py").is_file():
        pytest.skip(f"benchmark harness not found at {BENCH_DIR}")
    work = tmp_path_factory.mktemp("bench")
    subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "gen.py"),
            "--out",
            str(work),
            "--scale",
            "0.001",
            "--seed",
            "1",
        ],
        check=True,
        capture_output=True,
    )
    return work


def test_classify_workload_equals_the_shapely_peer(bench_input: Path, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "classify_workload", ROOT / "benchmarks" / "workloads" / "classify.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    inputs = mod.load(str(bench_input), None)
    ours = tmp_path / "ours.csv"
    n = mod.write(str(ours), inputs, mod.compute(inputs))
    assert n == len(inputs.ids) > 0
    lines = ours.read_text().splitlines()
    assert lines[0] == "id,sector,party,dist_km,bands,npp" and len(lines) == n + 1
    peer = tmp_path / "peer.csv"
    subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "peers.py"),
            "classify",
            "--work",
            str(bench_input),
            "--out",
            str(peer),
            "--peer",
            "shapely",
        ],
        check=True,
        capture_output=True,
        cwd=BENCH_DIR,
    )
    chk = subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "check.py"),
            "--work",
            str(bench_input),
            str(peer),
            str(ours),
        ],
        capture_output=True,
        text=True,
        cwd=BENCH_DIR,
    )
    assert chk.returncode == 0, chk.stdout + chk.stderr
    assert "0 mismatching -> OK" in chk.stdout
