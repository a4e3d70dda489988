"""Helpers for the event datasets mapped onto observations (UCDP GED, ACLED, VIINA)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from truceline.intake.convert import to_text

__all__ = ["DAY", "attrs_json", "constant", "lookup", "parse_dates", "whole_numbers"]

DAY = 86_400


def constant(value: str, n: int) -> pa.Array:
    return pa.array([value] * n, type=pa.string())


def lookup(col: pa.Array, table: Mapping[str, Any], type_: pa.DataType) -> pa.Array:
    """Map each value of ``col`` (as trimmed text) through ``table``; unknown -> null."""
    keys = pa.array(list(table), type=pa.string())
    idx = pc.index_in(pc.utf8_trim_whitespace(to_text(col)), value_set=keys)
    return pc.take(pa.array(list(table.values()), type=type_), idx)


def parse_dates(
    col: pa.Array, formats: Sequence[str]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Epoch seconds of midnight UTC of each date, and a mask of the unparseable ones."""
    text = pc.utf8_trim_whitespace(to_text(col))
    out = pa.nulls(len(col), pa.timestamp("s"))
    for fmt in formats:
        parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)
        out = pc.coalesce(out, parsed)
    secs = pc.cast(out, pa.int64())
    bad = np.asarray(pc.is_null(secs).to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(pc.fill_null(secs, 0).to_numpy(zero_copy_only=False), np.int64), bad


def whole_numbers(values: list[Any]) -> list[Any]:
    """Text that holds a whole number becomes an int; anything else stays as it is."""
    out: list[Any] = []
    for v in values:
        try:
            out.append(int(v) if v not in (None, "") else None)
        except (TypeError, ValueError):
            out.append(v)
    return out


def attrs_json(columns: Mapping[str, list[Any]], n: int) -> pa.Array:
    """One JSON object per row from named value lists, nulls and empty strings left out."""
    names = list(columns)
    rows = zip(*(columns[k] for k in names), strict=True) if names else iter([()] * n)
    out = [
        json.dumps({k: v for k, v in zip(names, vals, strict=True) if v not in (None, "")})
        for vals in rows
    ]
    return pa.array(out, type=pa.string())
