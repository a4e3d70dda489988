"""``truceline backtest`` on a file: tables, charts and errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from truceline.cli import app
from truceline.service.workspace import Workspace


def _counts_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    f = tmp_path / "counts.csv"
    start = date(2023, 1, 1)
    with f.open("w", newline="") as out:
        w = csv.writer(out)
        w.writerow(["date", "region", "count"])
        for region, rate in (("North", 2.0), ("South", 6.0), ("East", 4.0)):
            for i, n in enumerate(rng.poisson(rate, 300)):
                w.writerow([(start + timedelta(days=i)).isoformat(), region, int(n)])
    return f


def test_backtest_writes_tables_and_charts(tmp_path: Path) -> None:
    out = tmp_path / "bt"
    args = ["backtest", str(_counts_file(tmp_path)), "--train-until", "2023-08-31"]
    args += ["--horizon", "1", "--horizon", "7", "--out", str(out), "--reps", "20"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "metrics.json").read_text())
    rows = doc["metrics"]
    assert {(m["model"], m["horizon"]) for m in rows} >= {("nb-glm", 1), ("nb-glm", 7)}
    assert doc["meta"]["units"] == ["East", "North", "South"]
    assert doc["meta"]["eval_from"] == "2023-09-01"
    with (out / "metrics.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    for name in ("per_unit.csv", "forecast_h1.png", "forecast_h7.png", "reliability.png"):
        assert (out / name).stat().st_size > 100
    assert (out / "detector.png").read_bytes()[:4] == b"\x89PNG"


def test_backtest_refuses_a_bad_date_in_one_line(tmp_path: Path) -> None:
    f = _counts_file(tmp_path)
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from truceline.cli import main; main()",
            "backtest",
            str(f),
            "--train-until",
            "2023-13-01",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 1
    assert "InputError: --train-until: expected YYYY-MM-DD" in r.stderr
    assert "Traceback" not in r.stderr


def test_alerts_subscribe_and_list_through_the_cli(sqlite_workspace: Workspace) -> None:
    db = ["--db", sqlite_workspace.url]
    env = {"HOOK_SECRET": "a-secret-of-some-length"}
    args = [*db, "alerts", "subscribe", "guarantor", "--url", "http://127.0.0.1:9/hook"]
    r = CliRunner().invoke(app, [*args, "--secret-env", "HOOK_SECRET", "--quiet", "22-7"], env=env)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*db, "alerts", "subscriptions", "--format", "json"])
    assert r.exit_code == 0, r.output
    [sub] = json.loads(r.output)
    assert (sub["subscriber"], sub["quiet_start"], sub["quiet_end"]) == ("guarantor", 22, 7)
    assert "a-secret-of-some-length" not in r.output
    r = CliRunner().invoke(app, [*db, "alerts", "list", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output) == []
    r = CliRunner().invoke(app, [*db, "alerts", "dead", "--format", "csv"])
    assert r.exit_code == 0 and r.output.startswith("id,alert_id,subscription_id")
    r = CliRunner().invoke(
        app,
        [*db, "alerts", "subscribe", "x", "--url", "ftp://h", "--secret-env", "HOOK_SECRET"],
        env=env,
    )
    assert r.exit_code != 0 and "http://" in str(r.exception)
