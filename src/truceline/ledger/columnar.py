"""RFC 8785 bytes of a batch of flat records held as Arrow columns, and of their ledger
envelopes: the same bytes as :func:`truceline.ledger.canonical.canonical_bytes` and
:func:`truceline.ledger.log.entry_data` record by record, made a column at a time.

:func:`canonical_rows` makes one object per row, one member per column, nulls left
out, formatting each column with Arrow compute instead of each value in Python, and
writes every row in one pass: a column without nulls goes into that pass as it is,
between its key and the next one, while a column with nulls is first made into its
members (key and value, or nothing). A string needs escaping only when it holds a
control character, a quote or a backslash (one scan of the column's bytes tells;
those few rows go through ``json``, whose escapes are RFC 8785's); Arrow writes a
float's shortest round-trip digits as ECMAScript does except ``-0`` (written ``0``)
and the exponent form it uses for some magnitudes below 1e21 where ECMAScript writes
every digit (those few values go through ``rfc8785``). Keys are sorted by UTF-16 code
units. A property test checks it against ``rfc8785`` row by row.

:func:`entry_rows` wraps each record's bytes in the ledger's envelope
``{"at", "kind", "record", "ref"}`` in one more pass, so a record is canonicalised once;
:func:`entry_tails` makes all of it but ``at`` (before the time of acceptance is known)
and :func:`entries_at` adds ``at``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import rfc8785

from truceline.domain.errors import InputError
from truceline.ledger.canonical import MAX_INT

__all__ = ["canonical_rows", "entries_at", "entry_rows", "entry_tails"]

_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
_ESCAPED = np.zeros(256, dtype=bool)  # the bytes a JSON string cannot hold as they are
_ESCAPED[:0x20] = _ESCAPED[ord('"')] = _ESCAPED[ord("\\")] = True

# what a row is joined from: literal text and (string) arrays, in order
Piece: TypeAlias = pa.Array | str


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
    names = sorted(columns, key=lambda k: k.encode("utf-16-be"))
    cols = {k: _whole(columns[k]) for k in names}
    # a member leads with its comma; when the first column has nulls, so does the first
    # member, and each row's first comma is cut afterwards (Arrow's join that skips
    # nulls is not used: it drops rows where every value is null)
    cut = cols[names[0]].null_count > 0
    pieces: list[Piece] = [] if cut else ["{"]
    for n, name in enumerate(names):
        col = cols[name]
        key = ("," if n or cut else "") + _json_string(name) + ":"
        value = [_raw(col)] if name in raw else _json_values(name, col)
        if col.null_count == 0:
            pieces += [key, *value]
        else:
            member = pc.binary_join_element_wise(key, *value, "")
            pieces.append(pc.fill_null(member, ""))
    if not cut:
        return _join([*pieces, "}"])
    body = _join(pieces).view(pa.string())
    return _join(["{", pc.utf8_slice_codeunits(body, 1), "}"])


def entry_rows(kind: str, refs: pa.Array, records: pa.Array, at: int) -> pa.Array:
    """:func:`truceline.ledger.log.entry_data` of a batch at once (a binary array):
    ``records`` holds each record's canonical bytes (:func:`canonical_rows`), ``refs``
    their references."""
    return entries_at(at, entry_tails(kind, refs, records))


def entry_tails(kind: str, refs: pa.Array, records: pa.Array) -> pa.Array:
    """Each entry of :func:`entry_rows` but for its first member, the time of acceptance
    (``at`` sorts first): what can be made before that time is known."""
    refs, records = _whole(refs), _whole(records)
    if len(refs) != len(records):
        raise ValueError(f"{len(refs)} refs for {len(records)} records")
    if refs.null_count or records.null_count:
        raise InputError("a ledger entry needs a ref and a record: found a null")
    head = f',"kind":{_json_string(kind)},"record":'
    return _join([head, _raw(records), ',"ref":', *_strings(refs.cast(pa.string())), "}"])


def entries_at(at: int, tails: pa.Array) -> pa.Array:
    """The entries whose :func:`entry_tails` are ``tails``, accepted at ``at``."""
    if not -MAX_INT <= at <= MAX_INT:
        raise InputError(f"at {at}: beyond +-(2**53 - 1), it cannot be canonicalised (RFC 8785)")
    return _join([f'{{"at":{int(at)}', _raw(_whole(tails))])


def _whole(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _join(pieces: list[Piece]) -> pa.Array:
    """Each row's pieces joined (adjacent literals merged first), as binary."""
    merged: list[Piece] = []
    for p in pieces:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    return pc.binary_join_element_wise(*merged, "").view(pa.binary())


def _json_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _raw(col: pa.Array) -> pa.Array:
    """A column of canonical JSON text (or its UTF-8 bytes), as text."""
    return col.cast(pa.string())


def _json_values(name: str, col: pa.Array) -> list[Piece]:
    """Each value of ``col`` as canonical JSON text (null stays null), in pieces."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _strings(col.cast(pa.string()))
    if pa.types.is_integer(t):
        return [_integers(name, col)]
    if pa.types.is_floating(t):
        return [_floats(name, col.cast(pa.float64()))]
    if pa.types.is_boolean(t):
        return [pc.if_else(col, "true", "false")]
    if pa.types.is_null(t):
        return [pa.nulls(len(col), pa.string())]
    raise InputError(f"column {name!r}: {t} values have no canonical form here")


def _fix(text: pa.Array, mask: pa.Array, fixed: list[str]) -> pa.Array:
    return pc.replace_with_mask(text, mask, pa.array(fixed, pa.string()))


def _escaped_rows(col: pa.Array) -> pa.Array | None:
    """Which strings of ``col`` need an escape (None when none does: one scan of the
    bytes the column's values span)."""
    _, offsets, data = col.buffers()
    if data is None or offsets is None or not len(col):
        return None
    ends = np.frombuffer(offsets, np.int32, len(col) + 1, col.offset * 4)
    lo, hi = int(ends[0]), int(ends[-1])
    if not _ESCAPED[np.frombuffer(data, np.uint8, hi - lo, lo)].any():
        return None
    odd = pc.fill_null(pc.match_substring_regex(col, _NEEDS_ESCAPE), False)
    return odd if pc.any(odd).as_py() else None


def _strings(col: pa.Array) -> list[Piece]:
    """A string column as quoted JSON strings, in pieces: the quotes, and the values
    (those that need it escaped)."""
    odd = _escaped_rows(col)
    if odd is not None:
        inner = [_json_string(s)[1:-1] for s in col.filter(odd).to_pylist()]
        col = _fix(col, odd, inner)
    return ['"', col, '"']


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
