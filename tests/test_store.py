"""The store: migrations on both databases, schema equal to the metadata, SQLite pragmas."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from truceline.domain.errors import WorkspaceError
from truceline.service.workspace import Workspace, create_workspace, open_workspace
from truceline.store import ledger as log
from truceline.store.db import schema_current
from truceline.store.schema import metadata


def test_migrated_schema_equals_metadata(workspace: Workspace) -> None:
    with workspace.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert schema_current(workspace.engine)


def test_migrate_is_idempotent(workspace: Workspace, tmp_path: Path) -> None:
    again = create_workspace(tmp_path / "ws", workspace.url)
    assert schema_current(again.engine)
    again.engine.dispose()


def test_sqlite_is_wal_with_foreign_keys(sqlite_workspace: Workspace) -> None:
    with sqlite_workspace.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_workspace_found_from_subdirectory(sqlite_workspace: Workspace) -> None:
    assert sqlite_workspace.root is not None
    sub = sqlite_workspace.root / "a" / "b"
    sub.mkdir(parents=True)
    ws = open_workspace(cwd=sub, environ={})
    assert ws.url == sqlite_workspace.url
    ws.engine.dispose()


def test_settings_not_a_table_is_named(tmp_path: Path) -> None:
    (tmp_path / "truceline.toml").write_text("settings = 3\n", encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"truceline.toml: settings must be a table"):
        open_workspace(cwd=tmp_path, environ={})


def test_ledger_append_is_transactional(workspace: Workspace) -> None:
    with workspace.engine.begin() as conn:
        assert log.append(conn, "note", [("1", {"a": 1}), ("2", {"a": 2})]) == [0, 1]
    try:
        with workspace.engine.begin() as conn:
            log.append(conn, "note", [("3", {"a": 3})])
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with workspace.engine.connect() as conn:
        assert log.size(conn) == 2
        assert conn.execute(sa.text("select max(idx) from ledger_entries")).scalar() == 1
