"""``truceline notify`` through the real CLI on a SQLite workspace."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from truceline.cli import app

runner = CliRunner()
SITE = json.dumps({"circle": [35.0462, 48.4647], "radius_m": 2000})
AREA = json.dumps({"circle": [35.0462, 48.4647], "radius_m": 5000})


def run(db: str, *args: str) -> tuple[int, str]:
    r = runner.invoke(app, ["--db", db, *args], env={"COLUMNS": "40"})
    err = f"{type(r.exception).__name__}: {r.exception}" if r.exception else ""
    return r.exit_code, r.output + err


def test_notify_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    assert run(db, "init", str(tmp_path / "ws"))[0] == 0
    code, out = run(db, "notify", "add", "--party", "A", "--activity", "hospital",
                    "--footprint", SITE, "--start", "2026-01-01")  # fmt: skip
    assert code == 0, out
    flight = ["--party", "B", "--activity", "flight", "--footprint", AREA,
              "--start", "2026-01-10T08:00Z", "--end", "2026-01-10T10:00Z",
              "--alt-min", "500", "--alt-max", "3000"]  # fmt: skip
    code, out = run(db, "notify", "add", *flight)
    assert code == 1 and "Conflict" in out and "not cited" in out
    code, out = run(db, "notify", "add", *flight, "--cite", "1:1")
    assert code == 0, out
    assert "notification 2 version 1" in out.replace("\n", " ")
    code, out = run(db, "notify", "conflicts", "2")
    assert code == 0 and "site" in out
    code, out = run(db, "notify", "conflicts", "2", "--format", "json")
    [conflict] = json.loads(out)
    assert (conflict["kind"], conflict["other_id"], conflict["other_party"]) == ("site", 1, "A")
    code, out = run(db, "notify", "list", "--format", "json")
    listed_site, listed_flight = json.loads(out)
    assert listed_site["t_end"] is None  # until withdrawn
    assert listed_site["t_start"] == "2026-01-01T00:00:00Z"
    assert listed_flight["t_end"] == "2026-01-10T10:00:00Z" and listed_flight["footprint"]["type"]
    code, out = run(db, "notify", "list")  # 40 columns: ids and times whole
    assert code == 0 and "until withdrawn" in out and "2026-01-10T10:00:00Z" in out
    code, out = run(db, "notify", "ack", "2", "--party", "A")
    assert code == 0 and "acknowledged" in out
    code, out = run(db, "notify", "show", "2", "--as", "A", "--format", "json")
    shown = json.loads(out)
    assert shown["details"] is None and shown["full"] is False
    code, out = run(db, "notify", "add", *flight[:-4], "--alt-min", "900", "--alt-max", "100")
    assert code == 1 and "InputError" in out and "upside down" in out
    code, out = run(db, "notify", "cancel", "2", "--party", "B", "--reason", "weather")
    assert code == 0, out
    code, out = run(db, "notify", "amend", "2", *flight)
    assert code == 1 and "cancelled" in out
    code, out = run(db, "notify", "hotline", "--caller", "liaison A", "--summary", "ok")
    assert code == 0
    code, out = run(db, "notify", "hotline")
    assert "liaison A" in out
    code, out = run(db, "notify", "withdraw", "2", "--party", "B")
    assert code == 1 and "cancelled" in out
    code, out = run(db, "notify", "list", "--format", "json")
    [site] = json.loads(out)
    assert (site["activity"], site["status"], site["t_end"]) == ("hospital", "active", None)
    code, out = run(db, "notify", "withdraw", "1", "--party", "A", "--reason", "closed")
    assert code == 0 and "version 2 (withdraw)" in out.replace("\n", " ")
    code, out = run(db, "notify", "list", "--all", "--format", "json")
    assert ("hospital", "withdrawn") in {(n["activity"], n["status"]) for n in json.loads(out)}
