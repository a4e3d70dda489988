"""Streaming (bounded chunks however big the file) and write -> read round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truceline.domain.observations import MAX_DISTANCE_M, MAX_T_UNC_S, OBSERVATION_SCHEMA
from truceline.domain.vocab import ObservationKind, SourceType, WeaponClass
from truceline.intake import CHUNK_ROWS, read_observations, write_observations


def _bench_like(n: int) -> pa.Table:
    rng = np.random.default_rng(7)
    t0 = np.datetime64("2025-03-01T00:00:00")
    times = t0 + np.sort(rng.integers(0, 90 * 86400, n)).astype("timedelta64[s]")
    return pa.table(
        {
            "id": np.arange(1, n + 1),
            "t": pa.array([f"{x}Z" for x in times.astype(str)]),
            "lon": rng.uniform(30, 40, n).round(6),
            "lat": rng.uniform(45, 52, n).round(6),
            "radius_m": rng.integers(10, 3000, n),
            "kind": rng.choice(["explosion", "shot", "movement"], n),
            "weapon_class": rng.choice(["", "tank", "mlrs"], n),
            "source_id": rng.choice(["party-A", "acoustic-017", "uav-000"], n),
            "source_type": rng.choice(["party", "acoustic", "uav"], n),
        }
    )


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "observations.csv"
    pacsv.write_csv(_bench_like(2 * CHUNK_ROWS + 12_345), path)
    return path


def test_csv_streams_in_bounded_chunks(big_csv: Path) -> None:
    sizes, lines, last_done = [], [], 0
    for chunk in read_observations(big_csv):
        assert chunk.batch.num_rows <= CHUNK_ROWS and not chunk.problems
        assert chunk.done >= last_done and chunk.total == big_csv.stat().st_size
        sizes.append(chunk.batch.num_rows)
        lines.append(chunk.lines)
        last_done = chunk.done
    assert len(sizes) >= 3 and sum(sizes) == 2 * CHUNK_ROWS + 12_345
    assert np.array_equal(np.concatenate(lines), np.arange(2, sum(sizes) + 2))


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".geojson"])
def test_other_formats_stream_in_bounded_chunks(big_csv: Path, tmp_path: Path, suffix: str) -> None:
    table = pa.Table.from_batches([c.batch for c in read_observations(big_csv)])
    n = CHUNK_ROWS + 5_000 if suffix != ".parquet" else table.num_rows
    path = tmp_path / f"obs{suffix}"
    write_observations(path, table.slice(0, n))
    sizes = [c.batch.num_rows for c in read_observations(path)]
    assert max(sizes) <= CHUNK_ROWS and len(sizes) >= 2 and sum(sizes) == n


def test_bench_layout_id_becomes_client_id(big_csv: Path) -> None:
    first = next(iter(read_observations(big_csv))).batch.slice(0, 2).to_pylist()
    assert [r["client_id"] for r in first] == ["1", "2"]
    assert first[0]["source_type"] in {"party", "acoustic", "uav"}


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
_row = st.fixed_dictionaries(
    {
        "source_id": st.text("abcdefgh-0123456789", min_size=1, max_size=10),
        "source_type": st.sampled_from([s.value for s in SourceType]),
        "client_id": st.none() | st.text("xyz0123456789", min_size=1, max_size=8),
        "t": st.integers(0, 4_000_000_000),
        "t_unc_s": st.floats(0, MAX_T_UNC_S),
        "lon": st.floats(-180, 180),
        "lat": st.floats(-90, 90),
        "radius_m": st.floats(0, MAX_DISTANCE_M),
        "kind": st.sampled_from([k.value for k in ObservationKind]),
        "weapon_class": st.none() | st.sampled_from([w.value for w in WeaponClass]),
        "count": st.integers(1, 10**6),
        "credibility": st.integers(1, 6),
        "actor": st.none() | st.sampled_from(["A", "B"]),
        "description": st.none() | _text.filter(lambda s: s.strip() == s and s != ""),
        "attrs": st.none() | st.just('{"k": [1, 2]}'),
    }
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_row, min_size=1, max_size=20))
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".geojson"])
def test_write_then_read_gives_the_same_rows(
    tmp_path: Path, suffix: str, rows: list[dict[str, object]]
) -> None:
    table = pa.Table.from_pylist(rows, schema=OBSERVATION_SCHEMA)
    path = tmp_path / f"obs{suffix}"
    write_observations(path, table)
    chunks = list(read_observations(path))
    assert [p for c in chunks for p in c.problems] == []
    back = pa.Table.from_batches([c.batch for c in chunks], schema=OBSERVATION_SCHEMA)
    assert back.to_pylist() == table.to_pylist()
