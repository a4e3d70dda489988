"""The CLI's error shape: one line `Name: message`, exit status 1, no traceback."""

from __future__ import annotations

from pathlib import Path

from cli_process import run_cli


def test_no_workspace_is_one_line_and_exit_1(tmp_path: Path) -> None:
    p = run_cli(["fuse"], tmp_path)
    assert p.returncode == 1
    assert p.stderr.startswith("WorkspaceError: no workspace here")
    assert "Traceback" not in p.stderr


def test_bad_database_url_named(tmp_path: Path) -> None:
    p = run_cli(["--db", "nosuchdialect://x", "fuse"], tmp_path)
    assert p.returncode == 1
    assert "WorkspaceError: cannot use database URL 'nosuchdialect://x'" in p.stderr


def test_init_creates_a_migrated_workspace(tmp_path: Path) -> None:
    p = run_cli(["init", "ws"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "ws" / "truceline.toml").is_file()
    assert (tmp_path / "ws" / "truceline.db").is_file()


def test_check_without_an_agreement_says_so(tmp_path: Path) -> None:
    assert run_cli(["init", "ws"], tmp_path).returncode == 0
    p = run_cli(["check"], tmp_path / "ws")
    assert p.returncode == 0, p.stderr
    assert "no agreement is loaded" in p.stderr
