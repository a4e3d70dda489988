"""Column conversions to the observation schema's types, row failures reported.

Each converter takes a column as read (strings from CSV, anything from JSON or
Parquet) and returns the converted column (null where the value was bad) plus a
:class:`Bad` listing the rows that failed and why. The whole column is converted
by one Arrow cast; only when that cast fails does a per-value pass find the
culprits, so clean data never pays for a Python loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Bad", "null_mask", "to_epoch_seconds", "to_float", "to_int", "to_text"]

_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError)
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_INT64 = (-(2**63), 2**63 - 1)


class _Reason(ValueError):
    """A value error whose message is the whole reason shown to the user."""


@dataclass(slots=True)
class Bad:
    """Rows (indices into the column) that failed, each with its reason."""

    rows: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, row: int, reason: str) -> None:
        self.rows.append(row)
        self.reasons.append(reason)


def _per_value(
    col: pa.Array, target: pa.DataType, one: Callable[[Any], Any], what: str
) -> tuple[pa.Array, Bad]:
    bad = Bad()
    out: list[Any] = []
    for i, v in enumerate(col.to_pylist()):
        if v is None:
            out.append(None)
            continue
        try:
            out.append(one(v))
        except _Reason as exc:
            out.append(None)
            bad.add(i, f"{v!r}: {exc}")
        except (ValueError, TypeError, OverflowError):
            out.append(None)
            bad.add(i, f"{v!r} is not {what}")
    return pa.array(out, type=target), bad


def to_text(col: pa.Array) -> pa.Array:
    """A string column, with empty or blank strings as null."""
    if not pa.types.is_string(col.type):
        if pa.types.is_floating(col.type):
            col = _integral_floats_as_ints(col)
        col = pc.cast(col, pa.string())
    trimmed = pc.utf8_trim_whitespace(col)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), col)


def _integral_floats_as_ints(col: pa.Array) -> pa.Array:
    try:
        return pc.cast(col, pa.int64())
    except _ARROW_ERRORS:
        return col


def _float_one(v: Any) -> float:
    if isinstance(v, bool):
        raise TypeError("a boolean")
    x = float(v)
    if not math.isfinite(x):
        raise _Reason("not a finite number")
    return x


def to_float(col: pa.Array) -> tuple[pa.Array, Bad]:
    """A float64 column; non-numbers and non-finite values are bad."""
    if pa.types.is_string(col.type):
        col = to_text(col)
    if pa.types.is_boolean(col.type):
        return _per_value(col, pa.float64(), _float_one, "a number")
    try:
        out = pc.cast(col, pa.float64())
    except _ARROW_ERRORS:
        return _per_value(col, pa.float64(), _float_one, "a number")
    finite = pc.is_finite(out)
    if pc.all(pc.fill_null(finite, True)).as_py():
        return out, Bad()
    return _per_value(col, pa.float64(), _float_one, "a finite number")


def _int64(x: int) -> int:
    if not _INT64[0] <= x <= _INT64[1]:
        raise _Reason("out of range (a 64-bit integer)")
    return x


def _int_one(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return _int64(v)
    x = _float_one(v)
    if not x.is_integer():
        raise _Reason("not a whole number")
    return _int64(int(x))


def to_int(col: pa.Array) -> tuple[pa.Array, Bad]:
    """An int64 column; fractions and non-numbers are bad."""
    if pa.types.is_string(col.type):
        col = to_text(col)
    if pa.types.is_boolean(col.type):
        return _per_value(col, pa.int64(), _int_one, "a whole number")
    try:
        return pc.cast(col, pa.int64()), Bad()
    except (*_ARROW_ERRORS, OverflowError):
        return _per_value(col, pa.int64(), _int_one, "a whole number")


def _timestamp_one(v: Any) -> int:
    s = str(v).strip()
    if s.lstrip("-").isdigit():
        if len(s) > 20:
            raise _Reason("out of range (a 64-bit integer)")
        return _int64(int(s))
    try:
        d = datetime.fromisoformat(s)
    except ValueError:
        raise _Reason("not an ISO-8601 time") from None
    if d.tzinfo is None:
        raise _Reason("time has no time zone (give Z or an offset such as +02:00)")
    return math.floor(d.timestamp())


def _epoch_from_timestamps(col: pa.Array) -> pa.Array:
    """Whole seconds (floored) of zoned timestamps of any unit, without overflow."""
    if not pa.types.is_timestamp(col.type):
        col = pc.cast(col, pa.timestamp("us", "UTC"))
    ticks = pc.cast(col, pa.int64())
    arr = np.asarray(pc.fill_null(ticks, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    valid = np.asarray(pc.is_valid(ticks).to_numpy(zero_copy_only=False), dtype=bool)
    secs = np.floor_divide(arr, _PER_SECOND[col.type.unit])
    return pa.array(secs, type=pa.int64(), mask=~valid)


def to_epoch_seconds(col: pa.Array) -> tuple[pa.Array, Bad]:
    """Integer seconds since the epoch, UTC, from timezone-aware times.

    Accepts ISO-8601 strings with ``Z`` or an offset, integers (epoch seconds) and
    Arrow timestamps with a time zone. A time without a zone is bad: guessing it
    would shift the event by hours.
    """
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is None:
            bad = Bad()
            for i in np.flatnonzero(pc.is_valid(col).to_numpy(zero_copy_only=False)):
                bad.add(int(i), "timestamp has no time zone")
            return pa.nulls(len(col), pa.int64()), bad
        return _epoch_from_timestamps(col), Bad()
    if pa.types.is_integer(t):
        try:
            return pc.cast(col, pa.int64()), Bad()
        except _ARROW_ERRORS:
            return _per_value(col, pa.int64(), _timestamp_one, "a time")
    if not pa.types.is_string(t):
        col = pc.cast(col, pa.string()) if pa.types.is_floating(t) else col
        return _per_value(col, pa.int64(), _timestamp_one, "a time")
    col = to_text(col)
    try:
        if pc.all(pc.fill_null(pc.match_substring_regex(col, r"^\s*-?\d+\s*$"), True)).as_py():
            return pc.cast(pc.utf8_trim_whitespace(col), pa.int64()), Bad()
        return _epoch_from_timestamps(col), Bad()
    except _ARROW_ERRORS:
        return _per_value(col, pa.int64(), _timestamp_one, "a time")


def null_mask(col: pa.Array) -> npt.NDArray[np.bool_]:
    """True where ``col`` is null."""
    return np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)
