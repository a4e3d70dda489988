"""The canonical serialisation of ledger records: RFC 8785 (JSON Canonicalization Scheme).

A record is a JSON object of strings, integers, floats, booleans, nulls, lists
and objects. RFC 8785 fixes key order (UTF-16 code units), number formatting
(ECMAScript shortest round-trip) and string escaping, so the same record gives
the same bytes on every platform and in every later version of truceline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rfc8785

__all__ = ["canonical_bytes"]


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The RFC 8785 bytes of ``record``."""
    return rfc8785.dumps(dict(record))
