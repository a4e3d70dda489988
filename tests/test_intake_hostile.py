"""Hostile input: every case of the reliability run, refused with a named reason.

Each bad record is named (file, line, field) and the rest of the file is stored; a
file that cannot be read at all is refused with one clear ``InputError``; nothing is
ever a traceback, and nothing refused is half-stored.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from truceline.domain.errors import InputError, Problem
from truceline.intake import read_observations
from truceline.intake.csvfile import BLOCK_BYTES, MAX_COLUMNS
from truceline.intake.jsonfile import MAX_DEPTH, MAX_RECORD_BYTES
from truceline.service.ingest import KEPT_PROBLEMS, ingest_files
from truceline.service.reports import daily_report
from truceline.service.workspace import Workspace
from truceline.store.schema import observations

HEADER = "client_id,t,lon,lat,radius_m,kind,source_id\n"


def _row(i: int, t: str = "2025-03-01T00:00:00Z", kind: str = "shot") -> str:
    return f"r-{i},{t},37.5,48.0,100,{kind},s1\n"


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def _read(path: Path) -> tuple[list[str], list[Problem]]:
    chunks = list(read_observations(path))
    ids = [x for c in chunks for x in c.batch.column("client_id").to_pylist()]
    return ids, [p for c in chunks for p in c.problems]


def _stored(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(observations)).scalar_one())


@pytest.mark.parametrize(
    "t",
    ["-99999999999", "99999999999999999", "0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z",
     "99999999999999999999999", "1899-12-31T23:59:59Z", "2200-01-01T00:00:00Z"],
)  # fmt: skip
def test_times_outside_the_accepted_years_are_refused(tmp_path: Path, t: str) -> None:
    ids, problems = _read(_csv(tmp_path / "t.csv", [_row(1), _row(2, t), _row(3)]))
    assert ids == ["r-1", "r-3"]
    assert [(p.line, p.field) for p in problems] == [(3, "t")]
    assert "out of range" in problems[0].reason


def test_parquet_timestamps_far_out_are_refused_not_overflowed(tmp_path: Path) -> None:
    ms = [1_740_787_200_000, -99_999_999_999_000, 253_402_214_400_000]  # 2025, -1199, 9999
    table = pa.table(
        {
            "client_id": ["a", "b", "c"],
            "t": pa.array(ms, pa.timestamp("ms", "UTC")),
            "lon": [37.5] * 3,
            "lat": [48.0] * 3,
            "radius_m": [100.0] * 3,
            "kind": ["shot"] * 3,
            "source_id": ["s1"] * 3,
        }
    )
    pq.write_table(table, tmp_path / "far.parquet")
    ids, problems = _read(tmp_path / "far.parquet")
    assert ids == ["a"] and {(p.line, p.field) for p in problems} == {(2, "t"), (3, "t")}


def test_one_bad_record_does_not_abort_a_large_ingest(workspace: Workspace, tmp_path: Path) -> None:
    rows = [_row(i, t=str(1_740_787_200 + i)) for i in range(60_010)]
    rows[60_000] = _row(60_000, t="99999999999999999")
    path = _csv(tmp_path / "big.csv", rows)
    f = ingest_files(workspace, [path]).files[0]
    assert (f.read, f.accepted, f.rejected) == (60_010, 60_009, 1)
    assert [(p.line, p.field, p.record) for p in f.problems] == [(60_002, "t", "r-60000")]
    assert _stored(workspace) == 60_009


def test_nul_bytes_are_refused_alike_on_both_stores(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "nul.jsonl"
    rows = [
        {"client_id": "ok", "t": 1_740_787_200, "lon": 37.5, "lat": 48.0, "radius_m": 10,
         "kind": "shot", "source_id": "s1"},
        {"client_id": "nul", "t": 1_740_787_200, "lon": 37.5, "lat": 48.0, "radius_m": 10,
         "kind": "shot", "source_id": "s1", "description": "a\u0000b"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    f = ingest_files(workspace, [path]).files[0]
    assert (f.accepted, f.rejected) == (1, 1)
    assert (f.problems[0].line, f.problems[0].field) == (2, "description")
    assert "NUL" in f.problems[0].reason


def test_years_at_the_calendar_ends_never_reach_a_report(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "ends.csv", [_row(1, "0001-01-01T00:00:00Z"), _row(2)])
    assert ingest_files(workspace, [path]).accepted == 1
    paths = daily_report(workspace, date(2025, 3, 1), tmp_path / "r")
    assert paths.json.is_file()


def test_jsonl_hostile_values_are_named(tmp_path: Path) -> None:
    good = {"t": 1_740_787_200, "lon": 37.5, "lat": 48.0, "radius_m": 10, "kind": "shot",
            "source_id": "s1"}  # fmt: skip
    lines = [
        json.dumps({**good, "client_id": "big", "count": 2**70}),
        json.dumps({**good, "client_id": "bool", "lon": True}),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({**good, "client_id": "deep", "attrs": json.loads("[" * 40 + "]" * 40)}),
        json.dumps({**good, "client_id": "fine"}),
    ]
    path = tmp_path / "h.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ids, problems = _read(path)
    assert ids == ["fine"]
    by_line = {p.line: p for p in problems}
    assert set(by_line) == {1, 2, 3, 4}
    assert by_line[1].field == "count" and by_line[2].field == "lon"
    assert "nested too deeply" in by_line[3].reason
    assert f"deeper than {MAX_DEPTH}" in by_line[4].reason


@pytest.mark.parametrize("field", ["count", "credibility", "t", "lon"])
@pytest.mark.parametrize(
    "value",
    [2**63 - 1, -(2**63), 2**63, 2**64, 2**70, -(2**70), 10**400],
    ids=["i64max", "i64min", "2^63", "2^64", "2^70", "-2^70", "10^400"],
)
def test_integers_at_and_beyond_int64_are_bad_records(
    workspace: Workspace, tmp_path: Path, field: str, value: int
) -> None:
    good = {"t": 1_740_787_200, "lon": 37.5, "lat": 48.0, "radius_m": 10, "kind": "shot",
            "source_id": "s1"}  # fmt: skip
    rows = [{**good, "client_id": "a"}, {**good, "client_id": "big", field: value},
            {**good, "client_id": "c"}]  # fmt: skip
    path = tmp_path / "ints.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    f = ingest_files(workspace, [path]).files[0]
    assert (f.accepted, f.rejected) == (2, 1)
    assert [(p.line, p.field, p.record) for p in f.problems] == [(2, field, "big")]
    assert f.problems[0].reason.startswith(field)
    assert "range" in f.problems[0].reason or "not a finite number" in f.problems[0].reason
    assert _stored(workspace) == 2


def test_a_huge_jsonl_line_is_skipped_not_held(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("w", encoding="utf-8") as f:
        f.write('{"description": "' + "x" * (MAX_RECORD_BYTES + 10) + '"}\n')
        f.write(json.dumps({"client_id": "after", "t": 1_740_787_200, "lon": 37.5, "lat": 48.0,
                            "radius_m": 10, "kind": "shot", "source_id": "s1"}) + "\n")  # fmt: skip
    ids, problems = _read(path)
    assert ids == ["after"] and problems[0].line == 1 and "longer than" in problems[0].reason


def test_long_fields_are_refused(tmp_path: Path) -> None:
    long = "d" * 10_001
    path = tmp_path / "l2.csv"
    path.write_text(
        "client_id,t,lon,lat,radius_m,kind,source_id,description\n"
        f"a,2025-03-01T00:00:00Z,37.5,48,10,shot,s1,{long}\n"
        "b,2025-03-01T00:00:00Z,37.5,48,10,shot,s1,short\n",
        encoding="utf-8",
    )
    ids, problems = _read(path)
    assert ids == ["b"] and (problems[0].line, problems[0].field) == (2, "description")


@pytest.mark.parametrize("ext", [".json", ".geojson", ".jsonl", ".csv", ".parquet"])
def test_random_bytes_are_refused_cleanly(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"noise{ext}"
    path.write_bytes(bytes(range(256)) * 64)
    try:
        _, problems = _read(path)
    except InputError as exc:
        assert str(path) in str(exc)
    else:
        assert problems and all(p.reason for p in problems)


def test_utf16_is_refused_with_its_name(tmp_path: Path) -> None:
    for ext in (".csv", ".geojson", ".jsonl"):
        path = tmp_path / f"u16{ext}"
        path.write_bytes((HEADER + _row(1)).encode("utf-16"))
        with pytest.raises(InputError, match="UTF-16"):
            _read(path)


def test_duplicate_and_too_many_columns_are_refused(tmp_path: Path) -> None:
    dup = tmp_path / "dup.csv"
    dup.write_text(HEADER.strip() + ",lon\n" + _row(1).strip() + ",99\n", encoding="utf-8")
    with pytest.raises(InputError, match="'lon' appears more than once"):
        _read(dup)
    wide = tmp_path / "wide.csv"
    extra = ",".join(f"x{i}" for i in range(MAX_COLUMNS))
    wide.write_text(HEADER.strip() + "," + extra + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="columns"):
        _read(wide)
    table = pa.table([pa.array([1.0]), pa.array([2.0])], names=["lon", "lon"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(InputError, match="more than once"):
        _read(tmp_path / "dup.parquet")


def test_a_csv_row_over_the_block_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "wide-value.csv"
    with path.open("w", encoding="utf-8") as f:
        f.write(HEADER + _row(1))
        f.write(f"r-2,2025-03-01T00:00:00Z,37.5,48,10,{'x' * (3 * BLOCK_BYTES)},s1\n")
    with pytest.raises(InputError, match="longer than 4 MiB"):
        _read(path)


def test_a_compressed_bomb_parquet_is_refused_before_decoding(tmp_path: Path) -> None:
    n = 9_000_000
    table = pa.table({"lon": pa.array([1.0], pa.float64()).take(pa.array([0] * n))})
    path = tmp_path / "bomb.parquet"
    pq.write_table(table, path, row_group_size=n, compression="zstd")
    assert path.stat().st_size < 1 << 20
    with pytest.raises(InputError, match="row group 0"):
        _read(path)


def test_a_huge_geojson_feature_is_refused_quickly(tmp_path: Path) -> None:
    ring = ",".join(["[37.5,48.0]"] * (MAX_RECORD_BYTES // 10))
    path = tmp_path / "poly.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        f'"geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}]}}',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="larger than"):
        _read(path)


def test_refused_records_are_counted_not_all_kept(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    rows = [_row(i, kind="nonsense") for i in range(KEPT_PROBLEMS + 500)]
    path = _csv(tmp_path / "bad.csv", rows)
    seen: list[Problem] = []
    f = ingest_files(sqlite_workspace, [path], on_problem=seen.append).files[0]
    assert f.rejected == f.problem_count == len(seen) == KEPT_PROBLEMS + 500
    assert len(f.problems) == KEPT_PROBLEMS
    assert _stored(sqlite_workspace) == 0
