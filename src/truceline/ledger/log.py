"""Appending to the ledger inside the caller's transaction.

Every accepted record goes through :func:`append`, in the same database
transaction that stores the record, so a record is never stored without its
leaf nor a leaf without its record. Appends are serialised: SQLite by
``BEGIN IMMEDIATE`` (see ``store.db``), PostgreSQL by a transaction-scoped
advisory lock.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, text

from truceline.ledger.canonical import canonical_bytes
from truceline.store.schema import ledger_entries

__all__ = ["append", "leaf_hash", "size"]

_PG_LOCK_KEY = 0x7472_7563  # "truc"


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def size(conn: Connection) -> int:
    """Number of entries in the ledger."""
    n = conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()
    return int(n)


def append(conn: Connection, kind: str, items: Sequence[tuple[str, dict[str, Any]]]) -> list[int]:
    """Append ``(ref, record)`` items of one ``kind``; returns their leaf indices."""
    if not items:
        return []
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = conn.execute(select(func.max(ledger_entries.c.idx))).scalar_one()
    start = 0 if last is None else int(last) + 1
    now = int(time.time())
    rows = []
    for i, (ref, record) in enumerate(items):
        data = canonical_bytes({"kind": kind, **record})
        rows.append(
            {
                "idx": start + i,
                "kind": kind,
                "ref": ref,
                "data": data,
                "leaf_hash": leaf_hash(data),
                "at": now,
            }
        )
    conn.execute(ledger_entries.insert(), rows)
    return [start + i for i in range(len(items))]
