"""Opening a database and bringing its schema up to date.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every
transaction starts with ``BEGIN IMMEDIATE`` so that writers queue instead of
failing half-way; PostgreSQL serialises ledger appends with an advisory lock
(see ``ledger.log``). Any SQLAlchemy URL works.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from sqlalchemy import Engine, create_engine, event, inspect, text

from truceline.domain.errors import StoreError, WorkspaceError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["is_sqlite", "migrate", "open_engine", "schema_current", "store_errors"]


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def open_engine(url: str) -> Engine:
    """An engine for ``url``, configured for truceline's use of that dialect."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        engine = create_engine(url, future=True)
    except (sqlalchemy.exc.ArgumentError, ImportError) as exc:
        raise WorkspaceError(f"cannot use database URL {url!r}: {exc}") from exc
    if is_sqlite(engine):
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    location = resources.files("truceline.store") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (idempotent)."""
    from alembic import command

    with store_errors("migrating the schema"):
        command.upgrade(_alembic_config(engine), "heads")


def schema_current(engine: Engine) -> bool:
    """True when the database is at the newest revision.

    Cheap on purpose (every command asks): the heads come from the migration
    files' ``revision`` / ``down_revision`` lines, not from loading Alembic."""
    with store_errors("reading the schema version"), engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return current == migration_heads()


def migration_heads() -> set[str]:
    """The revisions of the shipped migrations that no other revision builds on."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for f in (resources.files("truceline.store") / "migrations" / "versions").iterdir():
        if not f.name.endswith(".py") or f.name.startswith("_"):
            continue
        for node in ast.parse(f.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
                name = target.id if isinstance(target, ast.Name) else ""
                if name == "revision":
                    revisions.add(ast.literal_eval(node.value))
                elif name == "down_revision":
                    down = ast.literal_eval(node.value)
                    parents.update([down] if isinstance(down, str) else down or ())
    return revisions - parents


@contextmanager
def store_errors(doing: str) -> Iterator[None]:
    """Translate database errors into truceline's ``StoreError`` once, here."""
    try:
        yield
    except sqlalchemy.exc.OperationalError as exc:
        raise StoreError(f"database unavailable while {doing}: {exc.orig}") from exc
    except sqlalchemy.exc.DBAPIError as exc:
        raise StoreError(f"database error while {doing}: {exc.orig}") from exc
