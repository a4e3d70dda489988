"""Agreement versions: their canonical content, validity and ledger entry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select, update

from truceline.store.schema import agreements

__all__ = ["all_versions", "close_version", "in_force", "insert_version", "versions_of"]


def versions_of(conn: Connection, agreement_id: str) -> list[Row[Any]]:
    """Every stored version of one agreement."""
    c = agreements.c
    return list(conn.execute(select(agreements).where(c.agreement_id == agreement_id)).all())


def close_version(conn: Connection, row_id: int, valid_to: int) -> None:
    conn.execute(update(agreements).where(agreements.c.id == row_id).values(valid_to=valid_to))


def insert_version(conn: Connection, row: Mapping[str, Any]) -> None:
    conn.execute(agreements.insert().values(**row))


def in_force(conn: Connection, t: int) -> Row[Any] | None:
    """The version in force at ``t`` (the latest-starting one if several are), or None."""
    c = agreements.c
    q = (
        select(agreements)
        .where(and_(c.valid_from <= t, or_(c.valid_to.is_(None), c.valid_to > t)))
        .order_by(c.valid_from.desc(), c.version.desc(), c.id.desc())
        .limit(1)
    )
    return conn.execute(q).first()


def all_versions(conn: Connection) -> list[Row[Any]]:
    """Every stored version, by agreement id then version."""
    c = agreements.c
    return list(conn.execute(select(agreements).order_by(c.agreement_id, c.version)).all())
