"""API users and their hashed tokens (the ``api_users`` table)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select, update

from truceline.domain.errors import IntegrityError
from truceline.store.schema import api_users

__all__ = [
    "UserRow",
    "find_by_name",
    "find_by_token_hash",
    "insert_user",
    "list_users",
    "revoke_user",
]


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    role: str
    party: str | None
    created_at: int
    revoked_at: int | None
    source: str | None = None


def _row(r: Row[Any, Any, Any, Any, Any, Any, Any]) -> UserRow:
    return UserRow(r.id, r.name, r.role, r.party, r.created_at, r.revoked_at, r.source)


_COLS = (
    api_users.c.id,
    api_users.c.name,
    api_users.c.role,
    api_users.c.party,
    api_users.c.created_at,
    api_users.c.revoked_at,
    api_users.c.source,
)


def insert_user(
    conn: Connection,
    name: str,
    role: str,
    party: str | None,
    token_hash: str,
    now: int,
    source: str | None = None,
) -> UserRow:
    """Store a new user; the caller has checked that the name is free."""
    values = {
        "name": name,
        "role": role,
        "party": party,
        "source": source,
        "token_hash": token_hash,
        "created_at": now,
    }
    new_id = conn.execute(api_users.insert().values(**values)).inserted_primary_key
    if new_id is None:
        raise IntegrityError(f"storing user {name!r} returned no id")
    return UserRow(int(new_id[0]), name, role, party, now, None, source)


def find_by_name(conn: Connection, name: str) -> UserRow | None:
    r = conn.execute(select(*_COLS).where(api_users.c.name == name)).first()
    return None if r is None else _row(r)


def find_by_token_hash(conn: Connection, token_hash: str) -> UserRow | None:
    """The user holding the token with this hash, revoked or not."""
    r = conn.execute(select(*_COLS).where(api_users.c.token_hash == token_hash)).first()
    return None if r is None else _row(r)


def list_users(conn: Connection) -> list[UserRow]:
    return [_row(r) for r in conn.execute(select(*_COLS).order_by(api_users.c.id))]


def revoke_user(conn: Connection, name: str, now: int) -> bool:
    """Mark a user's token revoked; False when no such active user."""
    q = (
        update(api_users)
        .where(api_users.c.name == name, api_users.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return conn.execute(q).rowcount > 0
