"""Coverage declarations: what a source could observe, and when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from truceline.store.schema import coverage, observations, sources

__all__ = ["insert_coverage", "of_source", "overlapping", "restrictions"]


def insert_coverage(conn: Connection, row: Mapping[str, Any]) -> Row[Any]:
    """Store one declaration; returns it as stored (with its id)."""
    new_id = conn.execute(coverage.insert().values(**row).returning(coverage.c.id)).scalar_one()
    return conn.execute(select(coverage).where(coverage.c.id == new_id)).one()


def overlapping(conn: Connection, t0: int, t1: int) -> list[Row[Any]]:
    """The declarations overlapping ``[t0, t1)``, in the order they were made."""
    c = coverage.c
    q = select(coverage).where(c.t_end > t0, c.t_start < t1).order_by(c.id)
    return list(conn.execute(q).all())


def of_source(conn: Connection, source_id: str) -> list[Row[Any]]:
    """A source's declarations, oldest first."""
    c = coverage.c
    q = select(coverage).where(c.source_id == source_id).order_by(c.t_start, c.id)
    return list(conn.execute(q).all())


def restrictions(conn: Connection, t0: int, t1: int, kinds: Sequence[str]) -> list[dict[str, Any]]:
    """Observations of ``kinds`` (restrictions of the mission) from ``t0`` less a day up to
    ``t1``, with their source's type: (source_id, source_type, kind, t, lon, lat, radius_m,
    attrs), by time."""
    o = observations.c
    q = (
        select(o.source_id, sources.c.type.label("source_type"), o.kind, o.t, o.lon, o.lat)
        .add_columns(o.radius_m, o.attrs)
        .join(sources, sources.c.id == o.source_id)
        .where(o.kind.in_(list(kinds)), o.t >= t0 - 86400, o.t < t1)
        .order_by(o.t, o.id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]
