"""Appending to the ledger inside the caller's transaction.

Every accepted record goes through :func:`append`, in the same database
transaction that stores the record, so a record is never stored without its
leaf nor a leaf without its record. Appends are serialised: SQLite by
``BEGIN IMMEDIATE`` (see ``store.db``), PostgreSQL by a transaction-scoped
advisory lock.

What a leaf hashes (``ledger_entries.data``) is the RFC 8785 form of the
envelope ``{"kind": kind, "ref": ref, "record": record}`` (:func:`entry_data`):
the record stays whole (an observation's own ``kind`` field does not collide
with the entry's kind) and the kind and reference are covered by the hash.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from truceline.ledger import nodes
from truceline.ledger.canonical import canonical_bytes

__all__ = ["append", "entry_data", "leaf_hash", "lock", "size"]

_PG_LOCK_KEY = 0x7472_7563  # "truc"
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def entry_data(kind: str, ref: str, record: Mapping[str, Any]) -> bytes:
    """The bytes a ledger entry stores and hashes: RFC 8785 of the envelope."""
    return canonical_bytes({"kind": kind, "ref": ref, "record": record})


def size(conn: Connection) -> int:
    """Number of entries in the ledger (the tree size)."""
    return nodes.size(conn)


def lock(conn: Connection) -> None:
    """Take the single-writer lock for the rest of the transaction.

    SQLite already holds it (``BEGIN IMMEDIATE``); PostgreSQL takes a
    transaction-scoped advisory lock. Callers that must check for duplicates before
    appending (intake) take it first, so two writers cannot both find a record new.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def append(conn: Connection, kind: str, items: Sequence[tuple[str, dict[str, Any]]]) -> list[int]:
    """Append ``(ref, record)`` items of one ``kind``; returns their leaf indices."""
    if not items:
        return []
    if conn.dialect.name == "postgresql":
        lock(conn)
    start = nodes.size(conn)
    nodes.check_nodes_cover(conn, start)
    now = int(time.time())
    datas = [entry_data(kind, ref, record) for ref, record in items]
    hashes = [_sha256(b"\x00" + d).digest() for d in datas]
    rows = [
        (start + i, kind, ref, d, h, now)
        for i, ((ref, _), d, h) in enumerate(zip(items, datas, hashes, strict=True))
    ]
    nodes.insert_many(
        conn, "ledger_entries", ("idx", "kind", "ref", "data", "leaf_hash", "at"), rows
    )
    nodes.extend_nodes(conn, start, b"".join(hashes))
    return list(range(start, start + len(items)))
