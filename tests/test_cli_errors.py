"""The CLI's error shape: one line `Name: message`, exit status 1, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TRUCELINE_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-c", "from truceline.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_no_workspace_is_one_line_and_exit_1(tmp_path: Path) -> None:
    p = _run(["fuse"], tmp_path)
    assert p.returncode == 1
    assert p.stderr.startswith("WorkspaceError: no workspace here")
    assert "Traceback" not in p.stderr


def test_bad_database_url_named(tmp_path: Path) -> None:
    p = _run(["--db", "nosuchdialect://x", "fuse"], tmp_path)
    assert p.returncode == 1
    assert "WorkspaceError: cannot use database URL 'nosuchdialect://x'" in p.stderr


def test_init_creates_a_migrated_workspace(tmp_path: Path) -> None:
    p = _run(["init", "ws"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "ws" / "truceline.toml").is_file()
    assert (tmp_path / "ws" / "truceline.db").is_file()


def test_check_without_an_agreement_says_so(tmp_path: Path) -> None:
    assert _run(["init", "ws"], tmp_path).returncode == 0
    p = _run(["check"], tmp_path / "ws")
    assert p.returncode == 0, p.stderr
    assert "no agreement is loaded" in p.stderr
