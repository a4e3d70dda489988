"""List and show commands speak table, JSON, JSON lines and CSV; machine formats do not
depend on the terminal; text from the data is never Rich markup; output paths never
overwrite the store or an existing file unless asked."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_process import run_cli
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.errors import InputError
from truceline.service.workspace import Workspace

DATA = Path(__file__).parent / "data"
ISO_Z = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
MARKUP_ID = "mon-[/bold]-[red]x[/red]"


@pytest.fixture
def fused(sqlite_workspace: Workspace, registered_sensors: None) -> Workspace:
    run = CliRunner()
    db = ["--db", sqlite_workspace.url]
    assert run.invoke(app, [*db, "ingest", str(DATA / "mixed_native.csv")]).exit_code == 0
    r = run.invoke(app, [*db, "fuse"])
    assert r.exit_code == 0, r.output
    return sqlite_workspace


def _invoke(ws: Workspace, *args: str) -> str:
    r = CliRunner().invoke(app, ["--db", ws.url, *args])
    assert r.exit_code == 0, r.output
    return r.stdout


def test_incidents_in_every_format(fused: Workspace) -> None:
    rows: list[dict[str, Any]] = json.loads(_invoke(fused, "incidents", "list", "--format", "json"))
    assert rows and all(set(r) >= {"id", "t", "kind", "status", "side", "lon", "lat"} for r in rows)
    assert all(re.match(ISO_Z, r["t"]) for r in rows)
    lines = _invoke(fused, "incidents", "list", "--format", "jsonl").splitlines()
    assert [json.loads(ln) for ln in lines] == rows
    table = list(
        csv.DictReader(io.StringIO(_invoke(fused, "incidents", "list", "--format", "csv")))
    )
    assert [int(r["id"]) for r in table] == [r["id"] for r in rows]
    assert [r["t"] for r in table] == [r["t"] for r in rows]
    assert [r["kind"] for r in table] == [r["kind"] for r in rows]
    shown = json.loads(_invoke(fused, "incidents", "show", str(rows[0]["id"]), "--format", "json"))
    assert shown["id"] == rows[0]["id"] and shown["t"] == rows[0]["t"]
    assert shown["observations"] and all("source_id" in o for o in shown["observations"])
    assert shown["history"][0]["to_status"] and shown["history"][0]["at"].endswith("Z")
    one = list(csv.DictReader(io.StringIO(_invoke(
        fused, "incidents", "show", str(rows[0]["id"]), "--format", "csv"))))  # fmt: skip
    assert len(one) == 1 and json.loads(one[0]["observations"]) == shown["observations"]


def test_sources_and_findings_as_json(fused: Workspace) -> None:
    found = json.loads(_invoke(fused, "sources", "list", "--format", "json"))
    assert found and all(s["created_at"].endswith("Z") for s in found)
    one = json.loads(_invoke(fused, "sources", "show", found[0]["id"], "--format", "json"))
    assert one["id"] == found[0]["id"] and isinstance(one["grades"], list)
    assert json.loads(_invoke(fused, "findings", "list", "--format", "json")) == []
    assert _invoke(fused, "findings", "list", "--format", "csv").strip().startswith("id,")


def _leaf_commands() -> list[tuple[str, Any]]:
    from truceline.cli import COMMANDS, _load

    out: list[tuple[str, Any]] = []

    def walk(cmd: Any, path: str) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}")
        else:
            out.append((path, cmd))

    for c in COMMANDS:
        walk(_load(c.module).commands[c.name], c.name)
    return out


#: commands that list or show records, beyond those named list or show
LISTING = {"notify conflicts", "sources coverage summary", "alerts subscriptions",
           "alerts dead", "forecast"}  # fmt: skip


#: named show, but not a record: the text a party saves as the mission's key file
NOT_LISTING = {"keys show"}


def test_every_list_and_show_command_takes_format_and_wide() -> None:
    leaves = dict(_leaf_commands())
    listing = {p for p in leaves if p.split()[-1] in ("list", "show")} - NOT_LISTING | LISTING
    assert {"incidents list", "users list", "notify show", "forecast"} <= listing <= set(leaves)
    for path in sorted(listing):
        opts = {o for p in leaves[path].params for o in getattr(p, "opts", ())}
        assert {"--format", "--wide"} <= opts, path


def test_csv_keeps_every_digit_a_table_rounds(capsys: pytest.CaptureFixture[str]) -> None:
    from truceline.cli._output import Col, emit_list

    rows = [{"id": 7, "lon": 37.123456789, "n": None}]
    cols = [Col("id", kind="id"), Col("lon", kind="num"), Col("n", kind="num")]
    emit_list(rows, cols, "csv")
    assert capsys.readouterr().out == "id,lon,n\n7,37.123456789,\n"
    emit_list(rows, cols, "table", wide=True)
    assert "37.1235" in capsys.readouterr().out


def test_unknown_format_is_refused(sqlite_workspace: Workspace) -> None:
    r = CliRunner().invoke(app, ["--db", sqlite_workspace.url, "sources", "list", "--format", "x"])
    assert isinstance(r.exception, InputError) and "table, json, jsonl, csv" in str(r.exception)


def test_json_does_not_depend_on_the_width_and_tables_never_cut_ids(
    fused: Workspace, tmp_path: Path
) -> None:
    args = ["--db", fused.url, "incidents", "list", "--format", "json"]
    narrow, wide = run_cli(args, tmp_path, 40), run_cli(args, tmp_path, 200)
    assert narrow.returncode == 0 and narrow.stdout == wide.stdout
    rows = json.loads(narrow.stdout)
    for columns in (40, 80):
        table = run_cli(["--db", fused.url, "incidents", "list"], tmp_path, columns).stdout
        for r in rows:
            assert r["t"] in table and f"{r['id']} " in table


def test_markup_in_a_source_id_is_data(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    db = ["--db", sqlite_workspace.url]
    r = run_cli(
        [*db, "sources", "add", MARKUP_ID, "--type", "osint", "--name", "[b]"], tmp_path, 80
    )
    assert r.returncode == 0 and MARKUP_ID in r.stdout, r.stderr
    listed = json.loads(run_cli([*db, "sources", "list", "--format", "json"], tmp_path, 80).stdout)
    assert [s["id"] for s in listed] == [MARKUP_ID] and listed[0]["name"] == "[b]"
    for args in (["sources", "list"], ["sources", "show", MARKUP_ID]):
        r = run_cli([*db, *args], tmp_path, 200)
        assert r.returncode == 0 and MARKUP_ID in r.stdout and "Traceback" not in r.stderr
    r = run_cli([*db, "sources", "show", "[/bold]nobody"], tmp_path, 200)
    assert r.returncode == 1 and "[/bold]nobody" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.usefixtures("registered_sensors")
def test_messages_are_not_wrapped_when_piped(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    r = run_cli(
        ["--db", sqlite_workspace.url, "ingest", str(DATA / "mixed_native.csv")], tmp_path, 40
    )
    assert r.returncode == 0
    assert any(
        "mixed_native.csv, line 4, record m-3, field 't'" in ln for ln in r.stderr.splitlines()
    )


def test_output_paths_never_overwrite_the_store(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    run = run_cli(["init", str(ws)], tmp_path, 80)
    assert run.returncode == 0, run.stderr
    store = ws / "truceline.db"
    before = store.read_bytes()
    bad = str(DATA / "mixed_native.csv")
    for target in ("truceline.db", str(store), "truceline.toml"):
        r = run_cli(["ingest", bad, "--errors", target], ws, 80)
        assert r.returncode == 1 and "InputError" in r.stderr and "Traceback" not in r.stderr
    assert store.read_bytes() == before
    listed = json.loads(run_cli(["incidents", "list", "--format", "json"], ws, 80).stdout)
    assert listed == []
    for sid, kind in (("mon-01", "monitor"), ("cam-07", "camera")):  # registered before they submit
        add = ["sources", "add", sid, "--type", kind, "--signature", "optional"]
        assert run_cli(add, ws, 80).returncode == 0
    errors = tmp_path / "errors.csv"
    errors.write_text("keep me\n")
    r = run_cli(["ingest", bad, "--errors", str(errors)], ws, 80)
    assert r.returncode == 1 and "--force" in r.stderr and errors.read_text() == "keep me\n"
    r = run_cli(["ingest", bad, "--errors", str(errors), "--force"], ws, 80)
    assert r.returncode == 0 and errors.read_text().startswith("file,line,field")
