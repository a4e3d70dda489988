"""Who owns a source: its type and the party it speaks for (for screening submissions)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from truceline.store.schema import sources

__all__ = ["source_owners"]


def source_owners(conn: Connection, ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """``id -> (type, party)`` of the registered sources among ``ids``."""
    q = select(sources.c.id, sources.c.type, sources.c.party)
    return {i: (t, p) for i, t, p in conn.execute(q.where(sources.c.id.in_(list(ids))))}
