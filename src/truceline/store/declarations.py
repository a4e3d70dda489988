"""Declarations: every query of the declarations aggregate (and the parties' keys)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from truceline.store.schema import declarations, sources

__all__ = ["declaration_by_uid", "insert_declaration", "party_keys", "select_declarations"]


def declaration_by_uid(conn: Connection, uid: str) -> dict[str, Any] | None:
    m = conn.execute(select(declarations).where(declarations.c.uid == uid)).mappings().first()
    return None if m is None else dict(m)


def insert_declaration(conn: Connection, values: dict[str, Any]) -> int:
    """Store one declaration row; its new id."""
    new_id = conn.execute(declarations.insert().values(**values)).inserted_primary_key
    if new_id is None:  # pragma: no cover - every supported dialect returns the key
        raise RuntimeError("the database returned no id for the new declaration")
    return int(new_id[0])


def select_declarations(conn: Connection, ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Declaration rows by id (all, or those of ``ids``)."""
    q = select(declarations)
    if ids is not None:
        q = q.where(declarations.c.id.in_(list(ids)))
    return [dict(m) for m in conn.execute(q.order_by(declarations.c.id)).mappings()]


def party_keys(conn: Connection, party: str) -> list[tuple[str, bytes]]:
    """(source id, Ed25519 public key) of the party's own channels that have a key."""
    q = select(sources.c.id, sources.c.public_key).where(
        sources.c.party == party, sources.c.public_key.is_not(None)
    )
    return [(str(i), bytes(k)) for i, k in conn.execute(q.order_by(sources.c.id))]
