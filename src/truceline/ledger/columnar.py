"""RFC 8785 bytes of a batch of flat records held as Arrow columns, and of their ledger
envelopes: the same bytes as :func:`truceline.ledger.canonical.canonical_bytes` and
:func:`truceline.ledger.log.entry_data` record by record, made a column at a time.

:func:`canonical_rows` makes one object per row, one member per column, nulls left
out, formatting each column with Arrow compute instead of each value in Python: a
string needs escaping only when it holds a control character, a quote or a backslash
(those few rows go through ``json``, whose escapes are RFC 8785's); Arrow writes a
float's shortest round-trip digits as ECMAScript does except ``-0`` (written ``0``)
and the exponent form it uses for some magnitudes below 1e21 where ECMAScript writes
every digit (those few values go through ``rfc8785``). Keys are sorted by UTF-16 code
units. A property test checks it against ``rfc8785`` row by row.

:func:`entry_rows` wraps each record's bytes in the ledger's envelope
``{"at", "kind", "record", "ref"}``, so a record is canonicalised once.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import rfc8785

from truceline.domain.errors import InputError
from truceline.ledger.canonical import MAX_INT

__all__ = ["canonical_rows", "entry_rows"]


_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'


def canonical_rows(
    columns: Mapping[str, pa.Array | pa.ChunkedArray], raw: Collection[str] = ()
) -> pa.Array:
    """The RFC 8785 bytes of one object per row (a binary array): its members are the
    columns by name, a null leaves the member out.

    Columns hold strings, integers, floats or booleans; a column named in ``raw`` holds
    canonical JSON text already (a nested object), put in as it is.
    """
    if not columns:
        raise InputError("a canonical row needs at least one column")
    members: list[pa.Array] = []
    # each member leads with its comma, the first with the opening brace when its column
    # has no null; otherwise each row's first comma is cut afterwards (Arrow's join that
    # skips nulls is not used: it drops rows where every value is null)
    names = sorted(columns, key=lambda k: k.encode("utf-16-be"))
    lead = "{" if columns[names[0]].null_count == 0 else ","
    for name in names:
        col = columns[name]
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        text = col.cast(pa.string()) if name in raw else _json_values(name, col)
        key = (lead if not members else ",") + _json_string(name) + ":"
        members.append(pc.fill_null(pc.binary_join_element_wise(key, text, ""), ""))
    body = pc.binary_join_element_wise(*members, "")
    if lead == ",":
        body = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(body, 1), "")
    return pc.binary_join_element_wise(body, "}", "").cast(pa.binary())


def entry_rows(kind: str, refs: pa.Array, records: pa.Array, at: int) -> pa.Array:
    """:func:`truceline.ledger.log.entry_data` of a batch at once (a binary array):
    ``records`` holds each record's canonical bytes (:func:`canonical_rows`), ``refs``
    their references."""
    n = len(refs)
    envelope = {
        "at": pa.repeat(pa.scalar(at, pa.int64()), n),
        "kind": pa.repeat(pa.scalar(kind, pa.string()), n),
        "record": records,
        "ref": refs,
    }
    return canonical_rows(envelope, raw={"record"})


def _json_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _json_values(name: str, col: pa.Array) -> pa.Array:
    """Each value of ``col`` as canonical JSON text (null stays null)."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _strings(col.cast(pa.string()))
    if pa.types.is_integer(t):
        return _integers(name, col)
    if pa.types.is_floating(t):
        return _floats(name, col.cast(pa.float64()))
    if pa.types.is_boolean(t):
        return pc.if_else(col, "true", "false")
    if pa.types.is_null(t):
        return pa.nulls(len(col), pa.string())
    raise InputError(f"column {name!r}: {t} values have no canonical form here")


def _fix(text: pa.Array, mask: pa.Array, fixed: list[str]) -> pa.Array:
    return pc.replace_with_mask(text, mask, pa.array(fixed, pa.string()))


def _strings(col: pa.Array) -> pa.Array:
    text = pc.binary_join_element_wise('"', col, '"', "")
    odd = pc.fill_null(pc.match_substring_regex(col, _NEEDS_ESCAPE), False)
    if not pc.any(odd).as_py():
        return text
    return _fix(text, odd, [_json_string(s) for s in col.filter(odd).to_pylist()])


def _integers(name: str, col: pa.Array) -> pa.Array:
    lo, hi = pc.min_max(col).values()
    if lo.is_valid and (lo.as_py() < -MAX_INT or hi.as_py() > MAX_INT):
        raise InputError(
            f"column {name!r}: an integer beyond +-(2**53 - 1) cannot be canonicalised (RFC 8785)"
        )
    return col.cast(pa.int64()).cast(pa.string())


def _floats(name: str, col: pa.Array) -> pa.Array:
    if not pc.all(pc.fill_null(pc.is_finite(col), True)).as_py():
        raise InputError(f"column {name!r}: NaN and infinity cannot be canonicalised (RFC 8785)")
    col = pc.if_else(pc.equal(col, 0.0), 0.0, col)  # -0 is written 0
    text = col.cast(pa.string())
    wide = pc.and_(pc.match_substring(text, "e+"), pc.less(pc.abs(col), 1e21))
    wide = pc.fill_null(wide, False)
    if not pc.any(wide).as_py():
        return text
    values = col.filter(wide).to_numpy(zero_copy_only=False)
    return _fix(text, wide, [rfc8785.dumps(float(v)).decode() for v in np.asarray(values)])
