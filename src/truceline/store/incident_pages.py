"""Pages of incidents for readers: filtered by time, box, sector, status and kind.

Columns come back as lists (one per field), not rows as objects, so that a page
of ten thousand features for a map costs one query and no per-row objects; or, on
SQLite and for readers who see every field, each row as its GeoJSON Feature text
written by SQLite's JSON1, so that no Python object is made per feature at all
(PostgreSQL's JSON functions can write the same, but slower than the columns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, literal_column, select

from truceline.store.schema import incidents

__all__ = [
    "PAGE_FIELDS",
    "IncidentFilter",
    "count_incidents",
    "incident_columns",
    "incident_extent",
    "incident_feature_texts",
]

#: the fields a page carries
PAGE_FIELDS: tuple[str, ...] = (
    "id",
    "t",
    "t_start",
    "t_end",
    "lon",
    "lat",
    "radius_m",
    "ellipse",
    "kind",
    "weapon_class",
    "count",
    "status",
    "n_observations",
    "n_groups",
    "confidence",
    "actor",
    "actor_confidence",
    "sector",
    "side",
    "updated_at",
)


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Which incidents; every field optional. ``bbox`` is (minlon, minlat, maxlon, maxlat)."""

    statuses: Sequence[str] | None = None
    kinds: Sequence[str] | None = None
    sectors: Sequence[str] | None = None
    since: int | None = None  # t >= since
    until: int | None = None  # t < until
    bbox: tuple[float, float, float, float] | None = None
    ids: Sequence[int] | None = None


def _where(f: IncidentFilter) -> list[Any]:
    c = incidents.c
    out: list[Any] = [c.merged_into.is_(None)]
    for col, values in ((c.status, f.statuses), (c.kind, f.kinds), (c.sector, f.sectors)):
        if values is not None:
            out.append(col.in_(list(values)))
    if f.ids is not None:
        out.append(c.id.in_(list(f.ids)))
    if f.since is not None:
        out.append(c.t >= f.since)
    if f.until is not None:
        out.append(c.t < f.until)
    if f.bbox is not None:
        x0, y0, x1, y1 = f.bbox
        out.append(c.lat.between(y0, y1))
        if x0 <= x1:
            out.append(c.lon.between(x0, x1))
        else:  # across the antimeridian
            out.append((c.lon >= x0) | (c.lon <= x1))
    return out


def count_incidents(conn: Connection, f: IncidentFilter) -> int:
    q = select(func.count()).select_from(incidents).where(*_where(f))
    return int(conn.execute(q).scalar_one())


def incident_columns(
    conn: Connection, f: IncidentFilter, limit: int, offset: int
) -> dict[str, list[Any]]:
    """The page's fields as columns, newest first (ties by id, so paging is stable)."""
    cols = [incidents.c[n] for n in PAGE_FIELDS]
    q = (
        select(*cols)
        .where(*_where(f))
        .order_by(incidents.c.t.desc(), incidents.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = conn.execute(q).all()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in PAGE_FIELDS]
    return {n: list(col) for n, col in zip(PAGE_FIELDS, columns, strict=True)}


def incident_extent(
    conn: Connection, f: IncidentFilter
) -> tuple[float, float, float, float, int, int] | None:
    """(minlon, minlat, maxlon, maxlat, first t, last t) of the matching incidents."""
    c = incidents.c
    q = select(
        func.min(c.lon), func.min(c.lat), func.max(c.lon), func.max(c.lat), func.min(c.t),
        func.max(c.t),
    ).where(*_where(f))  # fmt: skip
    r = conn.execute(q).one()
    if r[0] is None:
        return None
    return float(r[0]), float(r[1]), float(r[2]), float(r[3]), int(r[4]), int(r[5])


def _key(name: str) -> ColumnElement[Any]:
    return literal_column(f"'{name}'")  # a constant of this module, never input


def _json_object(pairs: Sequence[tuple[str, Any]]) -> ColumnElement[Any]:
    return func.json_object(*(x for k, v in pairs for x in (_key(k), v)))


def _feature_sql() -> ColumnElement[Any]:
    """A row's GeoJSON Feature as SQLite's JSON1 writes it (the same fields and values
    as the columns of :func:`incident_columns` give, plus ``time`` in ISO 8601; reals
    to SQLite's 15 significant digits)."""
    c = incidents.c
    props: list[tuple[str, Any]] = []
    for n in PAGE_FIELDS:
        if n in ("id", "lon", "lat"):
            continue
        # ellipse and side are JSON text: nested as JSON, not as a string
        props.append((n, func.json(c[n]) if n in ("ellipse", "side") else c[n]))
    props.append(("time", func.strftime(_key("%Y-%m-%dT%H:%M:%SZ"), c.t, _key("unixepoch"))))
    geometry = _json_object(
        [("type", _key("Point")), ("coordinates", func.json_array(c.lon, c.lat))]
    )
    return _json_object(
        [
            ("type", _key("Feature")),
            ("id", c.id),
            ("geometry", geometry),
            ("properties", _json_object(props)),
        ]
    )


#: the stores whose JSON functions write a page faster than Python encodes its columns:
#: SQLite's JSON1 (about half the time); PostgreSQL's json_build_object took 0.51 s for
#: 10,000 rows where fetching their columns took 0.09 s (the loaded 2-core machine)
_WRITES_FEATURES = frozenset({"sqlite"})


def incident_feature_texts(
    conn: Connection, f: IncidentFilter, limit: int, offset: int
) -> list[str] | None:
    """The page's incidents, newest first, each as GeoJSON Feature text with every field;
    ``None`` where the store's JSON functions are the slower way (use the columns)."""
    if conn.dialect.name not in _WRITES_FEATURES:
        return None
    q = (
        select(_feature_sql())
        .where(*_where(f))
        .order_by(incidents.c.t.desc(), incidents.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(conn.execute(q).scalars())
