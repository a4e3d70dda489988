"""Copies of a store: SQLite through its online backup API (consistent while other
connections write), PostgreSQL through ``pg_dump -Fc`` / ``pg_restore``.

A copy is written to a temporary file beside its target and renamed into place
only when whole, so a failed backup never leaves half a file under the name.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Connection, func, inspect, select
from sqlalchemy.engine import make_url

from truceline.domain.errors import StoreError
from truceline.store.schema import metadata

__all__ = [
    "backup_kind",
    "copy_sqlite",
    "libpq_url",
    "pg_dump",
    "pg_restore",
    "sqlite_file",
    "table_counts",
    "table_names",
]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PGDUMP_MAGIC = b"PGDMP"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (``None`` for another database or memory)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def libpq_url(url: str) -> str:
    """A PostgreSQL URL as libpq (``pg_dump``, ``pg_restore``) reads it."""
    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        raise StoreError(f"not a PostgreSQL URL: {u.render_as_string(hide_password=True)}")
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def backup_kind(path: Path) -> str:
    """``sqlite`` or ``pg_dump``, from the file's first bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the backup: {exc.strerror}") from exc
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(_PGDUMP_MAGIC):
        return "pg_dump"
    raise StoreError(f"{path}: not a truceline backup (neither a SQLite file nor a pg_dump -Fc)")


def copy_sqlite(src: Path, dst: Path) -> None:
    """Copy the SQLite database ``src`` to a new file ``dst`` with the online backup
    API: a consistent copy even while others write to ``src``."""
    if not src.is_file():
        raise StoreError(f"{src}: no such database file")
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.part")
    try:
        source = sqlite3.connect(src, timeout=30)
        try:
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                target.close()
        finally:
            source.close()
        os.replace(tmp, dst)
    except (sqlite3.Error, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"copying {src} to {dst}: {exc}") from exc


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StoreError(
            f"{name} not found: a PostgreSQL backup needs the PostgreSQL client tools "
            f"(e.g. the postgresql-client package) on the PATH"
        )
    return found


def _run(args: list[str], what: str) -> None:
    try:
        r = subprocess.run(args, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise StoreError(f"{what}: {exc}") from exc
    if r.returncode != 0:
        detail = (r.stderr or r.stdout).strip().splitlines()
        raise StoreError(f"{what} failed: {detail[-1] if detail else f'exit {r.returncode}'}")


def pg_dump(url: str, dst: Path) -> None:
    """``pg_dump -Fc`` of the database at ``url`` into a new file ``dst``."""
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.part")
    try:
        _run([_tool("pg_dump"), "-Fc", "--no-owner", "-f", str(tmp), "-d", libpq_url(url)],
             "pg_dump")  # fmt: skip
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def pg_restore(src: Path, url: str) -> None:
    """Restore the ``pg_dump -Fc`` file ``src`` into the (empty) database at ``url``."""
    args = [_tool("pg_restore"), "--no-owner", "--exit-on-error", "-d", libpq_url(url), str(src)]
    _run(args, "pg_restore")


def table_counts(conn: Connection) -> dict[str, int]:
    """Rows in each of truceline's tables."""
    return {
        name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for name, t in sorted(metadata.tables.items())
    }


def table_names(conn: Connection) -> list[str]:
    """The tables of the database ``conn`` is connected to (any, not only truceline's)."""
    return list(inspect(conn).get_table_names())
