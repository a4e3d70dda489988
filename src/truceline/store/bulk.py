"""Bulk reads and writes through the driver's own cursor (one place for both dialects).

SQLAlchemy builds a ``Row`` and runs per-value processors for every value it
returns, and a parameter dictionary per row it inserts: at a million rows that is
most of the cost. Here a statement is compiled once and run on the DBAPI cursor of
the connection's transaction: reads come back as columns, writes go as tuples (on
PostgreSQL, :func:`copy_rows` sends them with ``COPY``, with no statement per row).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Select, Table

from truceline.domain.errors import StoreError

if TYPE_CHECKING:  # loaded by the column reads only: the writes and the store's users need neither
    import pyarrow as pa
    from numpy.typing import NDArray

__all__ = ["copy_rows", "fetch_array", "fetch_columns", "fetch_table", "insert_many", "update_many"]

_FETCH_ROWS = 4096  # rows per fetch of fetch_table: its Python rows stay in the CPU cache
_FETCH_ARRAY_ROWS = 65_536  # rows per block of fetch_array


def _compiled(conn: Connection, q: Select[Any]) -> tuple[str, Any]:
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(compiled.params[k] for k in compiled.positiontup or ())
    return str(compiled), params


def fetch_columns(conn: Connection, q: Select[Any]) -> dict[str, tuple[Any, ...]]:
    """The result of ``q`` as one tuple per selected column, by column name."""
    sql, params = _compiled(conn, q)
    with _cursor(conn) as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    names = [c.name for c in q.selected_columns]
    cols = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return dict(zip(names, cols, strict=True))


def fetch_array(
    conn: Connection, q: Select[Any], types: Mapping[str, Any] | None = None
) -> dict[str, NDArray[Any]]:
    """The result of ``q`` as one array per selected column, by column name: a block of
    rows at a time goes into a 2-D object array in C (no tuple per column) and each
    column named in ``types`` is cast to its NumPy type there (``np.float64`` turns NULL
    into NaN), so the Python values of a block are freed before the next is read; the
    other columns stay object arrays."""
    import numpy as np

    names = [c.name for c in q.selected_columns]
    cast = types or {}
    blocks: list[dict[str, NDArray[Any]]] = []
    sql, params = _compiled(conn, q)
    with _cursor(conn) as cur:
        cur.execute(sql, params)
        while rows := cur.fetchmany(_FETCH_ARRAY_ROWS):
            table = np.empty((len(rows), len(names)), dtype=object)
            table[:] = rows
            blocks.append({n: table[:, k].astype(cast.get(n, object)) for k, n in enumerate(names)})
    if not blocks:
        return {n: np.empty(0, cast.get(n, object)) for n in names}
    return {n: np.concatenate([b[n] for b in blocks]) for n in names}


def fetch_table(conn: Connection, q: Select[Any], types: Sequence[pa.DataType]) -> pa.Table:
    """The result of ``q`` as an Arrow table, column ``i`` of type ``types[i]``: the
    driver's row tuples go straight into Arrow a block at a time (no transposition,
    no per-value work in Python)."""
    import pyarrow as pa

    names = [c.name for c in q.selected_columns]
    row_type = pa.struct([pa.field(n, t) for n, t in zip(names, types, strict=True)])
    sql, params = _compiled(conn, q)
    blocks: list[pa.Array] = []
    with _cursor(conn) as cur:
        cur.execute(sql, params)
        while rows := cur.fetchmany(_FETCH_ROWS):
            blocks.append(pa.array(rows, row_type))
    if not blocks:
        return pa.schema(list(row_type)).empty_table()
    return pa.Table.from_struct_array(pa.chunked_array(blocks, row_type)).combine_chunks()


def insert_many(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table``."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join([_mark(conn)] * len(columns))
    _executemany(conn, f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table`` on PostgreSQL
    with ``COPY ... FROM STDIN`` (psycopg adapts each value as it would a parameter)."""
    names = ", ".join(f'"{c}"' for c in columns)
    try:
        with _cursor(conn) as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise StoreError(f"database error while copying rows into {table}: {exc}") from exc


def update_many(
    conn: Connection,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """``UPDATE table SET columns WHERE key = ...`` for each row: the values of
    ``columns`` in order, then the key."""
    mark = _mark(conn)
    sets = ", ".join(f'"{c}" = {mark}' for c in columns)
    _executemany(conn, f'UPDATE "{table.name}" SET {sets} WHERE "{key}" = {mark}', rows)


def _mark(conn: Connection) -> str:
    """The driver's parameter marker: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


@contextmanager
def _cursor(conn: Connection) -> Iterator[Any]:
    """A DBAPI cursor on the connection's transaction, closed after use."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cur
    finally:
        cur.close()


def _executemany(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        with _cursor(conn) as cur:
            cur.executemany(sql, rows)
