"""The canonical serialisation of ledger records: RFC 8785 (JSON Canonicalization Scheme).

A record is a JSON object of strings, integers, floats, booleans, nulls, lists
and objects. RFC 8785 fixes key order (UTF-16 code units), number formatting
(ECMAScript shortest round-trip) and string escaping, so the same record gives
the same bytes on every platform and in every later version of truceline.

The reference is the ``rfc8785`` package. Records of the common shape (ASCII
keys, integers within +-2**53, floats that print without an exponent) take a
fast path through the standard library's C JSON encoder, whose output is then
byte-for-byte RFC 8785 (a property test checks this against ``rfc8785``):
sorting ASCII keys by code point equals sorting by UTF-16 code units, Python's
escapes are RFC 8785's (``\\b \\t \\n \\f \\r``, other controls ``\\u00xx``), an
integral float within +-2**53 prints as the integer (larger ones take the slow
path: Python writes ``9007199254740994.0``), and Python's shortest round-trip ``repr``
equals ECMAScript's digits whenever neither uses an exponent. Everything else
goes to ``rfc8785`` itself. A batch of flat records held as Arrow columns takes
:func:`truceline.ledger.columnar.canonical_rows` instead (the same bytes).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rfc8785

from truceline.domain.errors import InputError

__all__ = ["MAX_INT", "canonical_bytes"]

#: the largest integer RFC 8785 (I-JSON) admits, and its negative the smallest
MAX_INT = 2**53 - 1
_encode = json.JSONEncoder(
    ensure_ascii=False,
    separators=(",", ":"),
    sort_keys=True,
    allow_nan=False,
    check_circular=False,
).encode


class _Slow(Exception):
    """The value needs the reference implementation."""


def _float(v: float) -> float | int:
    if v.is_integer():
        if -MAX_INT <= v <= MAX_INT:
            return int(v)
        raise _Slow  # repr prints 2**53 .. 1e16 with a ".0" that ECMAScript omits
    r = repr(v)
    if "e" in r or "n" in r:  # exponent forms, nan, inf
        raise _Slow
    return v


def _value(v: Any) -> Any:
    t = type(v)
    if t is str or t is bool or v is None:
        return v
    if t is int:
        if -MAX_INT <= v <= MAX_INT:
            return v
        raise _Slow
    if t is float:
        return _float(v)
    if t is dict:
        return _object(v)
    if t is list or t is tuple:
        return [_value(x) for x in v]
    raise _Slow


def _object(d: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if type(k) is not str or not k.isascii():
            raise _Slow
        t = type(v)
        if t is str or v is None or t is bool:
            out[k] = v
        elif t is float:
            out[k] = _float(v)
        elif t is int and -MAX_INT <= v <= MAX_INT:
            out[k] = v
        else:
            out[k] = _value(v)
    return out


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The RFC 8785 bytes of ``record``."""
    try:
        return _encode(_object(record)).encode("utf-8")
    except (_Slow, UnicodeEncodeError):
        pass
    try:
        return rfc8785.dumps(dict(record))
    except (rfc8785.CanonicalizationError, TypeError, ValueError, UnicodeError) as exc:
        raise InputError(f"record cannot be canonicalised (RFC 8785): {exc}") from exc
