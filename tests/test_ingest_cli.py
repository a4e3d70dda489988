"""`truceline ingest`: the summary table, the problems listed, --errors, exit codes."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from cli_process import run_cli
from typer.testing import CliRunner

from truceline.cli import app
from truceline.service.workspace import Workspace

DATA = Path(__file__).parent / "data"
GEN = Path(__file__).resolve().parents[2] / "shared" / "bench" / "gen.py"


@pytest.mark.usefixtures("registered_sensors")
def test_ingest_lists_problems_and_summarises(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    errors = tmp_path / "errors.csv"
    files = [str(DATA / "mixed_native.csv"), str(DATA / "mixed_ucdp.csv")]
    args = ["--db", sqlite_workspace.url, "ingest", *files, "--errors", str(errors)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "mixed_native.csv, line 4, record m-3, field 't'" in r.output
    assert "12 problem(s)" in r.output
    table = [ln.split() for ln in r.output.splitlines()]
    assert ["mixed_native.csv", "native", "11", "3", "0", "8"] in table
    assert ["mixed_ucdp.csv", "ucdp", "6", "3", "0", "3"] in table
    with errors.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12 and rows[0].keys() == {"file", "line", "field", "record", "reason"}
    assert {(r["line"], r["field"]) for r in rows} >= {("4", "t"), ("11", ""), ("5", "date_start")}


@pytest.mark.usefixtures("registered_sensors")
def test_all_duplicates_exit_zero(sqlite_workspace: Workspace) -> None:
    args = ["--db", sqlite_workspace.url, "ingest", str(DATA / "mixed.geojson")]
    assert CliRunner().invoke(app, args).exit_code == 0
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0 and "geojson" in r.output


def test_strict_refusal_exits_one_and_writes_errors(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    errors = tmp_path / "e.csv"
    r = run_cli(
        [
            "--db",
            sqlite_workspace.url,
            "ingest",
            "--strict",
            "--errors",
            str(errors),
            str(DATA / "mixed_acled.csv"),
        ],
        tmp_path,
    )
    assert r.returncode == 1
    assert "RejectedBatch" in r.stderr and "line 5" in r.stderr and "Traceback" not in r.stderr
    assert len(errors.read_text().splitlines()) == 3  # header + 2 problems


def test_nothing_good_exits_one(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source_id": "x", "kind": "shot"}\n')
    r = CliRunner().invoke(app, ["--db", sqlite_workspace.url, "ingest", str(bad)])
    assert r.exit_code == 1 and "t is required" in r.output


def test_unknown_format_is_one_line_error(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    r = run_cli(
        ["--db", sqlite_workspace.url, "ingest", "-f", "viina", str(DATA / "mixed.jsonl")],
        tmp_path,
    )
    assert r.returncode == 1 and "InputError: unknown format 'viina'" in r.stderr


@pytest.mark.parametrize("name", ["absent.json", "absent.csv", "absent.parquet"])
def test_missing_file_is_one_line_error(
    sqlite_workspace: Workspace, tmp_path: Path, name: str
) -> None:
    r = run_cli(["--db", sqlite_workspace.url, "ingest", str(tmp_path / name)], tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("InputError:") and name in "".join(r.stderr.split())


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small workload from the shared benchmark generator (same layout as scale 1)."""
    if not GEN.is_file():
        pytest.skip(f"benchmark generator not found at {GEN}")
    out = tmp_path_factory.mktemp("bench")
    subprocess.run(
        [sys.executable, str(GEN), "--out", str(out), "--scale", "0.002", "--seed", "5"],
        cwd=GEN.parent,
        check=True,
        capture_output=True,
    )
    return out


def test_bench_observations_csv_and_parquet(workspace: Workspace, small_bench: Path) -> None:
    import pyarrow.csv as pcsv

    from truceline.service.ingest import ingest_files
    from truceline.service.sources import ensure_sources

    table = pcsv.read_csv(small_bench / "observations.csv")
    pairs = set(zip(table["source_id"].to_pylist(), table["source_type"].to_pylist(), strict=True))
    with workspace.engine.begin() as conn:  # the bench's monitors and sensors, registered first
        ensure_sources(conn, pairs)
    report = ingest_files(
        workspace, [small_bench / "observations.csv", small_bench / "observations.parquet"]
    )
    csv_report, pq_report = report.files
    assert (csv_report.read, csv_report.accepted, csv_report.rejected) == (2000, 2000, 0)
    # the same rows (same source and id) in the other layout are all duplicates
    assert (pq_report.read, pq_report.accepted, pq_report.duplicates) == (2000, 0, 2000)
