"""`truceline backup` then `restore` into a fresh place: the copy verifies and holds the
same rows, on SQLite and on PostgreSQL; nothing is ever written over."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.errors import InputError, StoreError
from truceline.service.backup import store_counts
from truceline.service.workspace import Workspace, open_workspace

DATA = Path(__file__).parent / "data"
PG_ADMIN = os.environ.get(
    "TRUCELINE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A second fresh PostgreSQL database to restore into (the `workspace` holds the first)."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"truceline_restore_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError:
        admin.dispose()
        pytest.fail("no PostgreSQL server") if os.environ.get("CI") == "true" else pytest.skip(
            "no PostgreSQL server"
        )
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _ok(*args: str, env: dict[str, str] | None = None) -> str:
    r = CliRunner().invoke(app, list(args), env=env)
    assert r.exit_code == 0, (args, r.output, r.exception)
    return r.output


def test_backup_then_restore_verifies_with_the_same_rows(
    workspace: Workspace, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = ["--db", workspace.url]
    _ok(*db, "ingest", str(DATA / "mixed_native.csv"), str(DATA / "mixed_ucdp.csv"))
    _ok(*db, "fuse")
    _ok(*db, "ledger", "head", env={"TRUCELINE_LEDGER_KEY_FILE": str(tmp_path / "ledger.key")})
    counts = store_counts(workspace)
    assert counts["observations"] > 0 and counts["incidents"] > 0 and counts["tree_heads"] == 1

    out = tmp_path / "store.backup"
    assert "written" in _ok(*db, "backup", str(out))
    r = CliRunner().invoke(app, [*db, "backup", str(out)])
    assert isinstance(r.exception, InputError) and "--force" in str(r.exception)
    _ok(*db, "backup", str(out), "--force")

    to = tmp_path / "restored"
    target = [] if workspace.engine.dialect.name == "sqlite" else [
        "--to-db", request.getfixturevalue("empty_pg")]  # fmt: skip
    assert "verify-store OK" in _ok("restore", str(out), "--to", str(to), *target)
    restored = open_workspace(cwd=to, environ={})
    try:
        assert store_counts(restored) == counts
        assert "OK" in _ok("--db", restored.url, "ledger", "verify-store")
    finally:
        restored.engine.dispose()

    r = CliRunner().invoke(app, ["restore", str(out), "--to", str(to), *target])
    assert isinstance(r.exception, InputError)  # never over an existing workspace
    r = CliRunner().invoke(
        app, ["restore", str(DATA / "mixed_native.csv"), "--to", str(tmp_path / "x")]
    )
    assert isinstance(r.exception, StoreError) and "not a truceline backup" in str(r.exception)


def test_a_postgresql_backup_without_pg_dump_says_so(pg_url: str, tmp_path: Path) -> None:
    from truceline.service.workspace import create_workspace

    create_workspace(tmp_path / "ws", pg_url).engine.dispose()
    env = {**os.environ, "PATH": str(tmp_path / "no-tools")}
    env.pop("TRUCELINE_DATABASE_URL", None)
    r = subprocess.run(
        [sys.executable, "-m", "truceline", "--db", pg_url, "backup", str(tmp_path / "b")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert r.returncode == 1 and "pg_dump not found" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "b").exists()
