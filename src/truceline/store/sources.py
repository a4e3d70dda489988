"""Sources and their grades: the registry's rows, read and written as plain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from truceline.store.schema import source_grades, sources

__all__ = [
    "all_sources",
    "get_source",
    "grade_rows",
    "grades_of",
    "groups_and_types",
    "insert_grades",
    "insert_sources",
    "known_ids",
    "signature_policies",
    "update_source_row",
]

_IN_CHUNK = 900


def known_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Those of ``ids`` that are registered."""
    out: set[str] = set()
    for s in range(0, len(ids), _IN_CHUNK):
        part = list(ids[s : s + _IN_CHUNK])
        out.update(conn.execute(select(sources.c.id).where(sources.c.id.in_(part))).scalars())
    return out


def signature_policies(conn: Connection, ids: Sequence[str]) -> list[tuple[str, str, bytes | None]]:
    """``(id, signature_policy, public_key)`` of those of ``ids`` that are registered."""
    q = select(sources.c.id, sources.c.signature_policy, sources.c.public_key)
    out: list[tuple[str, str, bytes | None]] = []
    for s in range(0, len(ids), _IN_CHUNK):
        part = list(ids[s : s + _IN_CHUNK])
        out.extend(
            (sid, policy, None if key is None else bytes(key))
            for sid, policy, key in conn.execute(q.where(sources.c.id.in_(part)))
        )
    return out


def insert_sources(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(sources.insert(), list(rows))


def insert_grades(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(source_grades.insert(), list(rows))


def get_source(conn: Connection, source_id: str) -> Row[Any] | None:
    return conn.execute(select(sources).where(sources.c.id == source_id)).first()


def all_sources(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(sources).order_by(sources.c.id)).all())


def update_source_row(conn: Connection, source_id: str, changes: Mapping[str, Any]) -> None:
    conn.execute(sources.update().where(sources.c.id == source_id).values(**changes))


def grades_of(conn: Connection, source_id: str) -> list[Row[Any]]:
    """One source's grades, oldest first."""
    g = source_grades.c
    q = select(source_grades).where(g.source_id == source_id).order_by(g.valid_from, g.id)
    return list(conn.execute(q).all())


def grade_rows(conn: Connection, source_ids: Sequence[str]) -> list[tuple[str, int, str]]:
    """``(source_id, valid_from, reliability)`` of every grade of ``source_ids``, in the
    order they were given."""
    g = source_grades.c
    out: list[tuple[str, int, str]] = []
    for s in range(0, len(source_ids), _IN_CHUNK):
        part = list(source_ids[s : s + _IN_CHUNK])
        q = select(g.id, g.source_id, g.valid_from, g.reliability).where(g.source_id.in_(part))
        out += [(r[1], int(r[2]), str(r[3])) for r in sorted(conn.execute(q).all())]
    return out


def groups_and_types(conn: Connection) -> list[tuple[str, str, str, str | None]]:
    """``(id, type, independence_group, party)`` of every source."""
    c = sources.c
    q = select(c.id, c.type, c.independence_group, c.party)
    return [(str(a), str(b), str(d), e) for a, b, d, e in conn.execute(q)]
