"""What a ledger entry is: the bytes it stores and the leaf hash the tree holds.

What a leaf hashes (``ledger_entries.data``) is the RFC 8785 form of the
envelope ``{"at": t, "kind": kind, "ref": ref, "record": record}`` (:func:`entry_data`):
the record stays whole (an observation's own ``kind`` field does not collide
with the entry's kind) and the kind, the reference and the time of acceptance
``at`` are covered by the hash.
Appending (in the caller's transaction) is ``truceline.store.ledger.append``; a batch
whose records are Arrow columns is built at once by
:func:`truceline.ledger.columnar.entry_rows` (the same bytes) and appended by
``truceline.store.ledger.append_data``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from truceline.ledger.canonical import canonical_bytes

__all__ = ["entry_data", "leaf_hash"]

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def entry_data(kind: str, ref: str, record: Mapping[str, Any], at: int | None = None) -> bytes:
    """The bytes a ledger entry stores and hashes: RFC 8785 of the envelope; ``at`` is the
    time of acceptance (Unix seconds), inside the leaf (entries before it carry none)."""
    env: dict[str, Any] = {"kind": kind, "ref": ref, "record": record}
    if at is not None:
        env["at"] = at
    return canonical_bytes(env)
