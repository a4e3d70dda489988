"""Observations in the store: which idempotency keys are already stored, bulk inserts.

Inserts take Arrow columns, not Python rows: on SQLite the driver's ``executemany``
over the columns a batch actually carries (the others stay NULL); on PostgreSQL a
``COPY ... FROM STDIN`` of CSV written by Arrow, with no Python loop per row.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Connection

from truceline.domain.errors import StoreError

__all__ = ["insert_observations", "prepare_bulk", "stored_mask"]

_SQLITE_CACHE_KIB = 131_072
_COPY_BYTES = 8 << 20
_FEW = 64  # fewer values than this are made by Arrow (7 values: 11 us a batch against 20)


def prepare_bulk(conn: Connection) -> None:
    """Ready ``conn`` for a bulk insert into observations.

    On SQLite, bulk inserts dirty pages all over the uid index: a 128 MiB page cache
    (instead of 2 MiB) keeps most of them in memory until the commit. (1M bench rows,
    load average 3-4: 64 MiB 48 s wall, 28 s CPU, peak RSS 615 MB; 128 MiB 30 s, 25 s,
    684 MB; 256 MiB 33 s, 24 s, 815 MB.)
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")


def stored_mask(conn: Connection, uids: pa.Array) -> npt.NDArray[np.bool_]:
    """Which members of ``uids`` (a string array) are stored as observations already.

    One statement for the lot: the keys go as one JSON array (in key order, so the
    probes walk the uid index page by page) and the positions of the stored ones come
    back, with no Python object per key either way."""
    found = np.zeros(len(uids), dtype=bool)
    if not len(uids):
        return found
    order = pc.array_sort_indices(uids).to_numpy()
    text = _json_array(uids.take(pa.array(order)))
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT j.i - 1 FROM json_array_elements_text(%s::json) WITH ORDINALITY AS j(uid, i) "
            "JOIN observations o ON o.uid = j.uid"
        )
    else:
        sql = "SELECT j.key FROM json_each(?) AS j JOIN observations o ON o.uid = j.value"
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, (text,))
        at = np.array([r[0] for r in cur.fetchall()], dtype=np.int64)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise StoreError(f"database error while looking up stored observations: {exc}") from exc
    finally:
        cur.close()
    found[order[at]] = True
    return found


def _json_array(values: pa.Array) -> str:
    """``values`` (strings, no nulls) as the text of a JSON array."""
    if pc.any(pc.match_substring_regex(values, r'[\x00-\x1f"\\]')).as_py():
        return json.dumps(values.to_pylist(), ensure_ascii=False)
    whole = pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values)
    return '["' + str(pc.binary_join(whole, '","')[0].as_py()) + '"]'


def _present(table: pa.Table) -> pa.Table:
    """The columns of ``table`` that hold at least one value."""
    keep = [n for n in table.column_names if table.column(n).null_count < table.num_rows]
    return table.select(keep)


def insert_observations(conn: Connection, table: pa.Table) -> None:
    """Insert the rows of ``table`` (columns named as in ``observations``)."""
    if table.num_rows == 0:
        return
    table = _present(table)
    names = ", ".join(f'"{c}"' for c in table.column_names)
    if conn.dialect.name == "postgresql":
        _copy(conn, names, table)
        return
    marks = ", ".join("?" * table.num_columns)
    sql = f"INSERT INTO observations ({names}) VALUES ({marks})"
    for batch in table.to_batches(max_chunksize=50_000):
        cols = [_values(c) for c in batch.columns]
        conn.exec_driver_sql(sql, list(zip(*cols, strict=True)))


def _values(col: pa.Array) -> list[Any]:
    """A column's values as Python objects, nulls as None, made by NumPy in C: Arrow's
    ``to_pylist`` builds a scalar object per value first, several times slower (except
    for a few values, an API batch's, where NumPy's fixed cost is the larger)."""
    if len(col) < _FEW:
        few: list[Any] = col.to_pylist()
        return few
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        values: list[Any] = col.to_numpy(zero_copy_only=False).tolist()
        return values
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        values = col.to_pylist()
        return values
    if col.null_count == 0:
        values = col.to_numpy().tolist()
        return values
    out = col.fill_null(pa.scalar(0, col.type)).to_numpy().astype(object)
    out[col.is_null().to_numpy(zero_copy_only=False)] = None
    values = out.tolist()
    return values


def _copy(conn: Connection, names: str, table: pa.Table) -> None:
    """COPY the rows as CSV: strings quoted, nulls empty and unquoted (so NULL)."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False))
    data = sink.getvalue()
    import psycopg

    sql = f"COPY observations ({names}) FROM STDIN WITH (FORMAT csv)"
    cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cur.copy(sql) as copy:
            for start in range(0, data.size, _COPY_BYTES):
                copy.write(memoryview(data)[start : start + _COPY_BYTES])
    except psycopg.Error as exc:
        raise StoreError(f"database error while copying observations: {exc}") from exc
    finally:
        cur.close()
