"""Whole columns read in bulk, with as few Python objects as the database allows.

A driver makes a Python object for every value it returns (sqlite3 and psycopg
alike): at a million rows of a dozen columns that is most of a read. For integer
and text columns the database can do that work instead. :func:`fetch_text_columns`
wraps a query so that each of its columns comes back as one string, its values
joined by a separator (``group_concat`` on SQLite, ``string_agg`` on PostgreSQL, all
in one pass so the columns stay aligned row by row). Both leave NULLs out, so one
more column, a bit per column that may hold NULLs, says where they were; Arrow
splits and parses the strings in C.

A text value holding the separator itself would shift the items: the count then
disagrees, and the query is read row by row instead.

Floats are not read that way: SQLite's text form of a REAL keeps 15 significant
digits, not the value. :func:`fetch_records` reads them exactly, value by value,
straight from the driver's cursor into a NumPy record array (no list of rows).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BigInteger, Connection, Select, Text, case, cast, func, literal, select

from truceline.store.bulk import fetch_columns

__all__ = ["SEPARATOR", "fetch_records", "fetch_text_columns"]

SEPARATOR = "\x1f"  # the ASCII unit separator: in no identifier or vocabulary word


def fetch_text_columns(
    conn: Connection, q: Select[Any], types: Sequence[pa.DataType]
) -> dict[str, pa.Array]:
    """The columns of ``q`` (integers or text, column ``i`` of type ``types[i]``), by
    name, in the order the database gives the rows (the same for every column)."""
    names = [c.name for c in q.selected_columns]
    if any(not (pa.types.is_integer(t) or pa.types.is_string(t)) for t in types):
        raise ValueError(f"only integer and text columns can be read as text: {types}")
    sub = q.subquery()
    nullable = [k for k, c in enumerate(sub.c) if getattr(c, "nullable", True)]
    if len(nullable) > 62:
        return _by_rows(conn, q, types)
    nulls = sum(
        (case((sub.c[k].is_(None), literal(1 << bit)), else_=literal(0))
         for bit, k in enumerate(nullable)),
        literal(0, BigInteger),
    )  # fmt: skip
    as_text = (lambda c: c) if conn.dialect.name == "sqlite" else (lambda c: cast(c, Text))
    joined = [func.aggregate_strings(as_text(c), SEPARATOR) for c in sub.c]
    mask_text = func.aggregate_strings(as_text(nulls), SEPARATOR)
    n, mask, *texts = conn.execute(select(func.count(), mask_text, *joined).select_from(sub)).one()
    if not n:
        return {name: pa.array([], t) for name, t in zip(names, types, strict=True)}
    try:
        bits = np.asarray(_split(mask, pa.int64()), dtype=np.int64)
        parsed = [_split(text, t) for t, text in zip(types, texts, strict=True)]
    except ValueError:  # a value that is not a whole number in an integer column
        return _by_rows(conn, q, types)
    out: dict[str, pa.Array] = {}
    for k, (name, values) in enumerate(zip(names, parsed, strict=True)):
        if k not in nullable:
            if len(values) != n:  # a value held the separator
                return _by_rows(conn, q, types)
            out[name] = values
            continue
        present = (bits >> nullable.index(k)) & 1 == 0
        if len(values) != int(present.sum()):
            return _by_rows(conn, q, types)
        at = pa.array(np.cumsum(present) - 1, pa.int64(), mask=~present)
        out[name] = values.take(at)
    return out


def _split(text: str | None, t: pa.DataType) -> pa.Array:
    """The items of ``text`` (None: no items) parsed as ``t`` (``ValueError`` if one is
    not a number); NumPy parses whole numbers several times faster than Arrow's cast."""
    if text is None:
        return pa.array([], t)
    if pa.types.is_integer(t):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # NumPy only warns of an item it cannot parse
            try:
                return pa.array(np.fromstring(text, dtype=np.int64, sep=SEPARATOR), t)
            except DeprecationWarning as exc:
                raise ValueError(str(exc)) from exc
    items = pc.split_pattern(pa.array([text], pa.large_string()), SEPARATOR).flatten()
    return pc.cast(items, t)


def _by_rows(conn: Connection, q: Select[Any], types: Sequence[pa.DataType]) -> dict[str, pa.Array]:
    cols = fetch_columns(conn, q)
    return {name: pa.array(v, t) for (name, v), t in zip(cols.items(), types, strict=True)}


def fetch_records(conn: Connection, q: Select[Any], dtype: np.dtype[Any]) -> np.ndarray:
    """The rows of ``q`` as a record array of ``dtype`` (a field per selected column, in
    order; no NULLs), filled from the driver's cursor row by row."""
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(compiled.params[k] for k in compiled.positiontup or ())
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(str(compiled), params)
        return np.fromiter(cur, dtype=dtype)  # type: ignore[arg-type]
    finally:
        cur.close()
