"""Bulk reads and writes through the driver's own cursor (one place for both dialects).

SQLAlchemy builds a ``Row`` and runs per-value processors for every value it
returns, and a parameter dictionary per row it inserts: at a million rows that is
most of the cost. Here a statement is compiled once and run on the DBAPI cursor of
the connection's transaction: reads come back as columns, writes go as tuples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table

__all__ = ["fetch_columns", "insert_many", "update_many"]


def fetch_columns(conn: Connection, q: Select[Any]) -> dict[str, tuple[Any, ...]]:
    """The result of ``q`` as one tuple per selected column, by column name."""
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(compiled.params[k] for k in compiled.positiontup or ())
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(str(compiled), params)
        rows = cur.fetchall()
    finally:
        cur.close()
    names = [c.name for c in q.selected_columns]
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return dict(zip(names, cols, strict=True))


def insert_many(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table``."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join([mark] * len(columns))})'
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(sql, rows)
    finally:
        cur.close()


def update_many(
    conn: Connection,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """``UPDATE table SET columns WHERE key = ...`` for each row: the values of
    ``columns`` in order, then the key."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sets = ", ".join(f'"{c}" = {mark}' for c in columns)
    sql = f'UPDATE "{table.name}" SET {sets} WHERE "{key}" = {mark}'
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(sql, rows)
    finally:
        cur.close()
