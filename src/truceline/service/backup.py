"""Backup and restore of a workspace's store, with the restored copy verified.

``backup`` copies the store while it is in use (SQLite: the online backup API;
PostgreSQL: ``pg_dump -Fc``). ``restore`` puts a backup into a new place (a new
workspace folder, with a SQLite file in it or pointing at an empty PostgreSQL
database), then re-checks the copy's ledger (``verify-store``) and counts its
rows. Neither ever writes over an existing database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from truceline.domain.errors import InputError, StoreError
from truceline.ledger.storecheck import StoreReport
from truceline.service.ledger import verify_store
from truceline.service.workspace import WORKSPACE_FILE, Workspace, create_workspace
from truceline.store import backup as copies
from truceline.store.db import open_engine, store_errors

__all__ = ["BackupReport", "RestoreReport", "backup", "restore", "store_counts"]


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    kind: str  # sqlite | pg_dump
    bytes: int
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class RestoreReport:
    workspace: Path
    url: str
    kind: str
    counts: dict[str, int]
    check: StoreReport = field(default_factory=StoreReport)


def store_counts(ws: Workspace) -> dict[str, int]:
    """Rows in each table of the workspace's store."""
    with store_errors("counting rows"), ws.engine.connect() as conn:
        return copies.table_counts(conn)


def backup(ws: Workspace, out: Path) -> BackupReport:
    """Copy the workspace's store to the new file ``out``."""
    counts = store_counts(ws)
    src = copies.sqlite_file(ws.url)
    if src is not None:
        copies.copy_sqlite(src, out)
        kind = "sqlite"
    elif ws.engine.dialect.name == "postgresql":
        copies.pg_dump(ws.url, out)
        kind = "pg_dump"
    else:
        raise StoreError(f"cannot back up a {ws.engine.dialect.name} store")
    return BackupReport(out, kind, out.stat().st_size, counts)


def restore(backup_file: Path, to: Path, db_url: str | None = None) -> RestoreReport:
    """Restore ``backup_file`` into a new workspace in ``to``: a SQLite backup into
    ``to/truceline.db`` (or the SQLite file of ``db_url``); a PostgreSQL dump into the
    empty database ``db_url``. Then verify the copy's ledger and count its rows."""
    kind = copies.backup_kind(backup_file)
    if (to / WORKSPACE_FILE).exists():
        raise InputError(f"--to {to}: already a workspace; restore into a new folder")
    url = db_url or f"sqlite:///{(to / 'truceline.db').resolve()}"
    target = copies.sqlite_file(url)
    if kind == "sqlite":
        if target is None:
            raise InputError("a SQLite backup restores into a SQLite file, not into " + url)
        if target.exists():
            raise InputError(f"{target}: the file exists; restore into a new place")
        to.mkdir(parents=True, exist_ok=True)
        copies.copy_sqlite(backup_file, target)
    else:
        if db_url is None or target is not None:
            raise InputError("a PostgreSQL dump restores into PostgreSQL: give --to-db URL")
        _require_empty(db_url)
        copies.pg_restore(backup_file, db_url)
    ws = create_workspace(to, db_url)  # the workspace file; the schema is already current
    try:
        return RestoreReport(to, ws.url, kind, store_counts(ws), verify_store(ws))
    finally:
        ws.engine.dispose()


def _require_empty(url: str) -> None:
    engine = open_engine(url)
    try:
        with store_errors("reading the target database"), engine.connect() as conn:
            tables = copies.table_names(conn)
    finally:
        engine.dispose()
    if tables:
        raise InputError(f"--to-db: the database has tables ({len(tables)}); restore into "
                         "an empty database")  # fmt: skip
