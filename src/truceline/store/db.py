"""Opening a database, its transactions, and bringing its schema up to date.

Services open every transaction through :func:`reading` or :func:`writing`:

- SQLite (the embedded default) runs in WAL mode with foreign keys on. A read
  begins ``DEFERRED``, so it reads a snapshot and never waits for a writer; a
  write begins ``IMMEDIATE``, so writers queue instead of failing half-way.
  A store file that cannot be written (a read-only copy, a read-only disk) is
  opened read-only, so it can still be read.
- PostgreSQL reads are plain reads; writers serialise ledger appends with an
  advisory lock (see ``store.ledger``).
- On both, a writer that cannot get a lock within ``lock_timeout_s`` (a
  setting) fails with a :class:`StoreError` naming the wait, instead of hanging.

Any SQLAlchemy URL works.
"""

from __future__ import annotations

import ast
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from sqlalchemy import Connection, Engine, Row, create_engine, event, inspect, make_url, text

from truceline.domain.errors import StoreError, WorkspaceError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S",
    "Connection",
    "Engine",
    "Row",
    "is_read_only",
    "is_sqlite",
    "migrate",
    "open_engine",
    "reading",
    "schema_current",
    "store_errors",
    "writing",
]

DEFAULT_LOCK_TIMEOUT_S = 10.0
_LOCK_TIMEOUT = "truceline_lock_timeout_s"
_READ_ONLY = "truceline_read_only"
_READ = "truceline_read"
_PG_LOCK_NOT_AVAILABLE = "55P03"
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 5, 6, 8  # primary result codes


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def is_read_only(engine: Engine) -> bool:
    """True when the store was opened read-only (its file cannot be written)."""
    return bool(engine.get_execution_options().get(_READ_ONLY, False))


def open_engine(url: str, *, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> Engine:
    """An engine for ``url``, configured for truceline's use of that dialect.

    ``lock_timeout_s`` bounds how long a transaction waits for another writer's
    lock before failing with a clear error.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    connect_args: dict[str, Any] = {}
    read_only = False
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql":
            connect_args["options"] = f"-c lock_timeout={max(1, round(lock_timeout_s * 1000))}"
        elif parsed.get_backend_name() == "sqlite":
            read_only_url = _sqlite_read_only_url(parsed.database)
            if read_only_url is not None:
                url, read_only = read_only_url, True
        engine = create_engine(
            url,
            connect_args=connect_args,
            execution_options={_LOCK_TIMEOUT: lock_timeout_s, _READ_ONLY: read_only},
        )
    except (sqlalchemy.exc.ArgumentError, ImportError) as exc:
        raise WorkspaceError(f"cannot use database URL {url!r}: {exc}") from exc
    if is_sqlite(engine):
        _configure_sqlite(engine, lock_timeout_s, read_only)
    return engine


def _sqlite_read_only_url(database: str | None) -> str | None:
    """A read-only URL for an existing SQLite file we may not write, else None.

    With its ``-wal`` and ``-shm`` files beside it the copy is read through them;
    without, it is read as immutable (SQLite then needs no file of its own).
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    if not path.is_file():
        return None
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    if writable:
        return None
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    has_wal = wal.is_file() and shm.is_file()
    query = "mode=ro" if has_wal else "mode=ro&immutable=1"
    return f"sqlite:///file:{path.resolve()}?{query}&uri=true"


def _configure_sqlite(engine: Engine, lock_timeout_s: float, read_only: bool) -> None:
    busy_ms = max(1, round(lock_timeout_s * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if not read_only:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        deferred = read_only or conn.get_execution_options().get(_READ, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")


@contextmanager
def reading(engine: Engine, doing: str = "reading the store") -> Iterator[Connection]:
    """A read transaction: never waits for a writer (SQLite ``BEGIN DEFERRED``)."""
    with _errors(engine, doing), engine.connect() as conn:
        conn.execution_options(**{_READ: True})
        with conn.begin():
            yield conn


@contextmanager
def writing(engine: Engine, doing: str = "writing the store") -> Iterator[Connection]:
    """A write transaction, committed at the end (SQLite ``BEGIN IMMEDIATE``).

    Waits at most ``lock_timeout_s`` for another writer, then fails clearly.
    """
    with _errors(engine, doing), engine.begin() as conn:
        yield conn


def _errors(engine: Engine, doing: str) -> Any:
    return store_errors(
        doing,
        lock_timeout_s=engine.get_execution_options().get(_LOCK_TIMEOUT),
        read_only=is_read_only(engine),
    )


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    location = resources.files("truceline.store") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (idempotent).

    A database at a revision these migrations do not know (a newer truceline wrote
    it) is refused with a ``WorkspaceError`` saying so; it is left untouched."""
    from alembic import command
    from alembic.util import CommandError

    with _errors(engine, "migrating the schema"):
        try:
            command.upgrade(_alembic_config(engine), "heads")
        except CommandError as exc:
            if "Can't locate revision" not in str(exc):
                raise
            raise WorkspaceError(
                f"cannot migrate the database: {exc}; a newer truceline wrote it: "
                "upgrade truceline, or restore a backup taken before that upgrade"
            ) from exc


def schema_current(engine: Engine) -> bool:
    """True when the database is at the newest revision.

    Cheap on purpose (every command asks): the heads come from the migration
    files' ``revision`` / ``down_revision`` lines, not from loading Alembic."""
    with reading(engine, "reading the schema version") as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return current == migration_heads()


#: a migration's top-level ``revision`` or ``down_revision`` assignment, as Alembic writes it
_REVISION_LINE = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+)$", re.MULTILINE)


def migration_heads() -> set[str]:
    """The revisions of the shipped migrations that no other revision builds on.

    Read from the two assignment lines of each file (parsing whole files costs
    more than the query it guards)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for f in (resources.files("truceline.store") / "migrations" / "versions").iterdir():
        if not f.name.endswith(".py") or f.name.startswith("_"):
            continue
        for name, value in _REVISION_LINE.findall(f.read_text(encoding="utf-8")):
            found = ast.literal_eval(value.strip())
            if name == "revision":
                revisions.add(found)
            else:
                parents.update([found] if isinstance(found, str) else found or ())
    return revisions - parents


def _is_lock_wait(orig: BaseException | None) -> bool:
    if isinstance(orig, sqlite3.OperationalError):
        code = getattr(orig, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return getattr(orig, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE


def _is_read_only_write(orig: BaseException | None) -> bool:
    code = getattr(orig, "sqlite_errorcode", None)
    return (
        isinstance(orig, sqlite3.OperationalError)
        and code is not None
        and code & 0xFF == _SQLITE_READONLY
    )


@contextmanager
def store_errors(
    doing: str, *, lock_timeout_s: float | None = None, read_only: bool = False
) -> Iterator[None]:
    """Translate database errors into truceline's ``StoreError`` once, here."""
    try:
        yield
    except sqlalchemy.exc.DBAPIError as exc:
        raise StoreError(_message(exc, doing, lock_timeout_s, read_only)) from exc


def _message(
    exc: sqlalchemy.exc.DBAPIError, doing: str, lock_timeout_s: float | None, read_only: bool
) -> str:
    if _is_lock_wait(exc.orig):
        waited = f"{lock_timeout_s:g} s" if lock_timeout_s is not None else "lock_timeout_s"
        return (
            f"gave up {doing} after waiting {waited} for a database lock held by another "
            "writer (setting lock_timeout_s); try again when it has finished"
        )
    if read_only and _is_read_only_write(exc.orig):
        return f"cannot finish {doing}: the store is read-only (its file cannot be written)"
    if isinstance(exc, sqlalchemy.exc.OperationalError):
        return f"database unavailable while {doing}: {exc.orig}"
    return f"database error while {doing}: {exc.orig}"
