"""Whole columns read in bulk, with as few Python objects as the database allows.

A driver makes a Python object for every value it returns (sqlite3 and psycopg
alike): at a million rows of a dozen columns that is most of a read. The database
can do that work instead. :func:`read_columns` wraps a query so that each of its
columns comes back as one string, its values joined by a separator (``group_concat``
on SQLite, ``string_agg`` on PostgreSQL, all in one pass so the columns stay aligned
row by row). Both leave NULLs out, so one more column, a bit per column that may
hold NULLs, says where they were; Arrow and NumPy split and parse the strings in C.

A text value holding the separator itself would shift the items: the count then
disagrees, and the query is read row by row instead.

Floats must come back to the last bit. PostgreSQL sends each as the hexadecimal of
its eight IEEE 754 bytes (``float8send``), decoded with no decimal parsing at all;
:func:`floats_as_text` checks that once per connection on values chosen to break a
lossy form (the extremes, subnormals, both sides of every power of two, negative
zero, infinities, NaN) and the read falls back to the driver if any differs.
SQLite has no exact text form that is cheap: its own text of a REAL keeps 15
significant digits, and ``printf('%!.20e', x)``, exact on x86-64, costs three times
the driver's value-by-value read. There floats come value by value, straight from
the driver's cursor into a NumPy record array (no list of rows), in a second query
matched to the first on a key column; a nullable float's NULLs still come from the
first query's bits, and a column holding only NULLs is not read again.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Float,
    Select,
    Text,
    case,
    cast,
    column,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError

from truceline.domain.errors import StoreError
from truceline.store.bulk import fetch_columns

__all__ = ["SEPARATOR", "floats_as_text", "hard_floats", "read_columns"]

SEPARATOR = "\x1f"  # the ASCII unit separator: in no identifier or vocabulary word

_HEX_DIGITS = 16  # of a float's eight bytes
_CHECKED = "truceline.floats_as_text"  # where a connection keeps its check's answer


def read_columns(
    conn: Connection, q: Select[Any], types: Sequence[pa.DataType], key: str | None = None
) -> dict[str, pa.Array]:
    """The columns of ``q`` (integers, text or 64-bit floats, column ``i`` of type
    ``types[i]``), by name, in the order the database gives the rows (the same for every
    column). Floats are exact; where the database cannot send them as text they are read
    in a second query, matched on ``key`` (a column of unique integers; required then)."""
    names = [c.name for c in q.selected_columns]
    floats = {k for k, t in enumerate(types) if pa.types.is_floating(t)}
    if any(not pa.types.is_float64(types[k]) for k in floats):
        raise ValueError(f"only 64-bit floats can be read exactly: {types}")
    if any(
        not (pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_float64(t))
        for t in types
    ):
        raise ValueError(f"only integer, text and float columns can be read in bulk: {types}")
    if not floats or floats_as_text(conn):
        got = _joined(conn, q, types, set())
        return _by_rows(conn, q, types) if got is None else got[0]
    if key is None or key not in names or pa.types.is_floating(types[names.index(key)]):
        raise ValueError("floats read value by value need an integer key column")
    got = _joined(conn, q, types, floats)
    if got is None:
        return _by_rows(conn, q, types)
    out, present = got
    wanted = [k for k in sorted(floats) if _some(present[k])]
    sub = q.subquery()
    cols = [
        sub.c[k] if present[k] is None else func.coalesce(sub.c[k], literal(0.0, Float()))
        for k in wanted
    ]
    dtype = np.dtype([("key", np.int64), *[(f"f{k}", np.float64) for k in wanted]])
    rec = _records(conn, select(sub.c[names.index(key)], *cols), dtype)
    at = _match(np.asarray(out[key], dtype=np.int64), rec["key"])
    for k in sorted(floats):
        seen = present[k]
        mask = None if seen is None else ~seen
        vals = rec[f"f{k}"][at] if k in wanted else np.zeros(len(at))
        out[names[k]] = pa.array(vals, pa.float64(), mask=mask)
    return {n: out[n] for n in names}


def _some(present: npt.NDArray[np.bool_] | None) -> bool:
    """Whether a column holds any value (``present`` None: never NULL)."""
    return present is None or bool(present.any())


def floats_as_text(conn: Connection) -> bool:
    """True when this connection's database sends floats as text that decodes to the
    same bits, checked once per connection on hard values through the same read."""
    info = conn.connection.info
    if _CHECKED not in info:
        info[_CHECKED] = _float_text(conn) is not None and _check_floats(conn)
    return bool(info[_CHECKED])


def _float_text(conn: Connection) -> Callable[[ColumnElement[Any]], ColumnElement[Any]] | None:
    if conn.dialect.name == "postgresql":
        return lambda c: func.encode(func.float8send(c), "hex")
    return None


def hard_floats() -> npt.NDArray[np.float64]:
    """Values a lossy text form of a float gets wrong: both sides of every power of two
    (subnormals included), a mantissa of mixed bits at every exponent, the extremes,
    negative zero, infinities, NaN, and decimal numbers with no short binary form."""
    powers = np.ldexp(1.0, np.arange(-1074, 1024))
    mixed = np.ldexp(1.0 + 0x5A5A5A5A5A5A5 / 2.0**52, np.arange(-1022, 1024))
    rng = np.random.default_rng(20261201)
    bits = rng.integers(0, 2**63, size=500, dtype=np.int64).view(np.float64)
    edges = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 2.225073858507201e-308,
             2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1 / 3, 1e23,
             9007199254740993.0, 30.123456789012345, -48.98765432109876]  # fmt: skip
    out = np.concatenate([powers, np.nextafter(powers, np.inf), np.nextafter(powers, 0.0),
                          mixed, bits[np.isfinite(bits)]])  # fmt: skip
    out[1::2] *= -1.0  # both signs at every exponent
    return np.concatenate([out, edges, np.negative(edges)])


def _check_floats(conn: Connection) -> bool:
    """Send :func:`hard_floats` (one array parameter) through :func:`_joined` and
    compare the bits."""
    want = hard_floats()
    hard = text(
        "SELECT t.k, t.x FROM unnest(CAST(:xs AS float8[])) WITH ORDINALITY AS t(x, k)"
    ).bindparams(xs=want.tolist())
    sub = hard.columns(column("k", BigInteger), column("x", Float(53))).subquery()
    q = select((sub.c.k - 1).label("k"), sub.c.x)
    try:
        with conn.begin_nested():  # a database without the functions fails in its savepoint
            got = _joined(conn, q, [pa.int64(), pa.float64()], set())
    except DBAPIError:
        return False
    if got is None:
        return False
    k = np.asarray(got[0]["k"], dtype=np.int64)
    x = np.asarray(pc.fill_null(got[0]["x"], np.nan), dtype=np.float64)
    if len(k) != len(want) or sorted(k.tolist()) != list(range(len(want))):
        return False
    same = x.view(np.int64) == want[k].view(np.int64)
    return bool(np.all(same | (np.isnan(x) & np.isnan(want[k]))))


def _joined(
    conn: Connection,
    q: Select[Any],
    types: Sequence[pa.DataType],
    only_nulls: set[int],
) -> tuple[dict[str, pa.Array], list[npt.NDArray[np.bool_] | None]] | None:
    """The columns of ``q`` as joined strings, parsed; for those in ``only_nulls`` just
    where their values are present (the other columns: None there). None when the
    strings do not split into the rows (a text value held the separator)."""
    names = [c.name for c in q.selected_columns]
    sub = q.subquery()
    nullable = [k for k, c in enumerate(sub.c) if getattr(c, "nullable", True)]
    if len(nullable) > 62:
        return None
    nulls = sum(
        (case((sub.c[k].is_(None), literal(1 << bit)), else_=literal(0))
         for bit, k in enumerate(nullable)),
        literal(0, BigInteger),
    )  # fmt: skip
    sqlite = conn.dialect.name == "sqlite"
    as_text = (lambda c: c) if sqlite else (lambda c: cast(c, Text))
    as_float = _float_text(conn)
    joined = []
    for k, c in enumerate(sub.c):
        if k in only_nulls:
            continue
        if pa.types.is_floating(types[k]):
            if as_float is None:
                raise ValueError(f"{conn.dialect.name} sends no exact text of a float")
            joined.append(func.aggregate_strings(as_float(c), ""))
        else:
            joined.append(func.aggregate_strings(as_text(c), SEPARATOR))
    mask_text = func.aggregate_strings(as_text(nulls), SEPARATOR)
    n, mask, *texts = conn.execute(select(func.count(), mask_text, *joined).select_from(sub)).one()
    if not n:
        empty = {name: pa.array([], t) for name, t in zip(names, types, strict=True)}
        none = np.zeros(0, dtype=bool)
        return empty, [none if k in nullable else None for k in range(len(names))]
    try:
        bits = np.asarray(_split(mask, pa.int64()), dtype=np.int64)
        kept = iter(texts)
        parsed = [None if k in only_nulls else _split(next(kept), t) for k, t in enumerate(types)]
    except ValueError:  # a value that is not a whole number in an integer column
        return None
    out: dict[str, pa.Array] = {}
    present_of: list[npt.NDArray[np.bool_] | None] = [None] * len(names)
    for k, (name, items) in enumerate(zip(names, parsed, strict=True)):
        present = None if k not in nullable else (bits >> nullable.index(k)) & 1 == 0
        if items is None:  # a column of which only the nulls were read
            present_of[k] = present
            continue
        if len(items) != (n if present is None else int(present.sum())):
            return None  # a value held the separator
        if present is None:
            out[name] = items
            continue
        at = pa.array(np.cumsum(present) - 1, pa.int64(), mask=~present)
        out[name] = items.take(at)
    return out, present_of


def _split(text: str | None, t: pa.DataType) -> pa.Array:
    """The items of ``text`` (None: no items) parsed as ``t`` (``ValueError`` if one is
    not a number); NumPy parses whole numbers several times faster than Arrow's cast;
    floats come as the hexadecimal of their big-endian bytes, back to back."""
    if text is None:
        return pa.array([], t)
    if pa.types.is_floating(t):
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise ValueError(f"not the bytes of floats: {exc}") from exc
        if len(raw) % (_HEX_DIGITS // 2):
            raise ValueError("not the bytes of floats: a partial value")
        return pa.array(np.frombuffer(raw, dtype=">f8").astype(np.float64), t)
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


def _records(conn: Connection, q: Select[Any], dtype: np.dtype[Any]) -> np.ndarray:
    """The rows of ``q`` as a record array of ``dtype`` (a field per selected column, in
    order; no NULLs), filled from the driver's cursor a block of rows at a time."""
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


def _match(keys: npt.NDArray[np.int64], got: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Where each of ``keys`` is in ``got`` (the same keys, in any order)."""
    if np.array_equal(keys, got):
        return np.arange(len(keys))
    order = np.argsort(got, kind="stable")
    at = order[np.minimum(np.searchsorted(got[order], keys), max(len(got) - 1, 0))]
    if len(keys) != len(got) or not np.array_equal(got[at], keys):
        raise StoreError("the rows changed while they were read")
    return at
