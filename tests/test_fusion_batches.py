"""Fusion through a real SQLite store groups the bench's observations the same whatever
the batches they arrive in: in time order split anywhere, or as late reports scattered
over the whole period. The data is the bench file's first 200,000 rows (the bench's
``observations.parquet``, or one generated at scale 0.2 when it is absent)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import BENCH_DIR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from truceline.service.fusion import fuse
from truceline.service.ingest import ingest_files
from truceline.service.sources import ensure_sources
from truceline.service.workspace import create_workspace
from truceline.store.schema import incident_observations, observations

pytestmark = pytest.mark.slow

N = 200_000
BENCH_WORK = Path(os.environ.get("TRUCELINE_BENCH_WORK", "/tmp/truceline-bench"))


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    """The first ``N`` rows of the bench's observations (scale 1, seed 1)."""
    path = BENCH_WORK / "observations.parquet"
    if not path.is_file():
        if not (BENCH_DIR / "gen.py").is_file():
            pytest.skip(f"no bench observations at {path} and no generator at {BENCH_DIR}")
        work = tmp_path_factory.mktemp("bench")
        gen = [sys.executable, str(BENCH_DIR / "gen.py"), "--out", str(work)]
        subprocess.run([*gen, "--scale", "0.2", "--seed", "1"], check=True, capture_output=True)
        path = work / "observations.parquet"
    return pq.read_table(path).slice(0, N)


def fused(folder: Path, table: pa.Table, batches: list[np.ndarray]) -> np.ndarray:
    """Ingest and fuse ``table``'s rows batch by batch into a fresh SQLite workspace;
    returns the partition as each row's first fellow member (row numbers of ``table``)."""
    ws = create_workspace(folder)
    pairs = zip(table["source_id"].to_pylist(), table["source_type"].to_pylist(), strict=True)
    with ws.engine.begin() as conn:  # the bench's monitors and sensors are registered
        ensure_sources(conn, set(pairs))
    for k, rows in enumerate(batches):
        path = folder / f"batch{k}.parquet"
        pq.write_table(table.take(np.sort(rows)), path)
        report = ingest_files(ws, [path])
        assert report.files[0].accepted == len(rows), report.files[0].problems[:3]
        fuse(ws)
    io, o = incident_observations.c, observations.c
    with ws.engine.connect() as conn:
        got = conn.execute(
            select(o.client_id, io.incident_id).join(observations, o.id == io.observation_id)
        ).all()
    ws.engine.dispose()
    row = np.array([int(c) for c, _ in got], np.int64)
    row -= int(table["id"][0].as_py())  # the bench's ids are its row numbers, from 1
    incident = np.array([i for _, i in got], np.int64)
    assert np.array_equal(np.sort(row), np.arange(table.num_rows))  # every row fused once
    label = np.empty(table.num_rows, np.int64)
    label[row] = incident
    _, canon = np.unique(label, return_inverse=True)
    first = np.full(int(canon.max()) + 1, table.num_rows, np.int64)
    np.minimum.at(first, canon, np.arange(table.num_rows))
    return first[canon]


@pytest.fixture(scope="module")
def one_pass(bench: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    return fused(tmp_path_factory.mktemp("one"), bench, [np.arange(bench.num_rows)])


def test_bench_split_in_time_at_any_point_gives_the_one_pass_partition(
    bench: pa.Table, one_pass: np.ndarray, tmp_path: Path
) -> None:
    n = bench.num_rows
    assert 0.1 * n < len(np.unique(one_pass)) < 0.5 * n  # most incidents have several reports
    for cuts in ([120_000], [50_000, 170_000]):
        batches = np.split(np.arange(n), cuts)
        got = fused(tmp_path / f"time-{cuts[0]}", bench, batches)
        moved = np.flatnonzero(got != one_pass)
        assert moved.size == 0, f"split at {cuts}: rows {moved[:10].tolist()} grouped otherwise"


def test_late_reports_scattered_over_the_period_give_the_one_pass_partition(
    bench: pa.Table, one_pass: np.ndarray, tmp_path: Path
) -> None:
    """60 % first, then the rest as three batches of late reports drawn at random."""
    n = bench.num_rows
    perm = np.random.default_rng(16).permutation(n)
    batches = np.split(perm, [int(0.6 * n), int(0.75 * n), int(0.9 * n)])
    got = fused(tmp_path / "late", bench, batches)
    moved = np.flatnonzero(got != one_pass)
    assert moved.size == 0, f"rows {moved[:10].tolist()} grouped otherwise"


SMALL = 4_000


@pytest.fixture(scope="module")
def small(bench: pa.Table, tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, np.ndarray]:
    part = bench.slice(0, SMALL)
    return part, fused(tmp_path_factory.mktemp("small"), part, [np.arange(SMALL)])


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(2, 4), shuffled=st.booleans())
def test_any_batches_of_the_bench_give_the_one_pass_partition(
    small: tuple[pa.Table, np.ndarray],
    tmp_path_factory: pytest.TempPathFactory,
    seed: int,
    k: int,
    shuffled: bool,
) -> None:
    part, want = small
    rng = np.random.default_rng(seed)
    order = rng.permutation(SMALL) if shuffled else np.arange(SMALL)
    cuts = np.sort(rng.choice(np.arange(1, SMALL), k - 1, replace=False))
    got = fused(tmp_path_factory.mktemp("prop"), part, np.split(order, cuts))
    assert np.array_equal(got, want)
