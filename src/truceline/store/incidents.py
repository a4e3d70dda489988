"""Incidents, their member observations and their status changes.

Functions take a ``Connection`` and plain values and return rows or plain values;
lists of ids are read in bounded chunks so no statement exceeds a database's
parameter limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select, text, update

from truceline.store.bulk import insert_many, update_many
from truceline.store.schema import (
    incident_observations,
    incidents,
    observations,
    sources,
    status_changes,
)

__all__ = [
    "actors",
    "attribution_rows",
    "by_ids",
    "count_by_status",
    "get",
    "history",
    "insert_incident_columns",
    "insert_incidents",
    "insert_status_change_columns",
    "insert_status_changes",
    "list_rows",
    "mark_merged",
    "member_ids",
    "member_sources",
    "members",
    "move_members",
    "open_incidents",
    "set_actors",
    "set_sides",
    "set_statuses",
    "side_inputs",
    "statuses",
    "t_range",
    "update_incident_columns",
    "update_incidents",
]

IN_CHUNK = 900
INC = incidents.c
IO = incident_observations.c


def chunks(ids: Sequence[Any]) -> Iterable[list[Any]]:
    """``ids`` in slices small enough for one ``IN (...)``."""
    for s in range(0, len(ids), IN_CHUNK):
        yield list(ids[s : s + IN_CHUNK])


def rows_in(conn: Connection, q: Select[Any], col: Any, ids: Sequence[Any]) -> list[Any]:
    """``q`` restricted to ``col IN ids``, chunk by chunk."""
    return [r for c in chunks(ids) for r in conn.execute(q.where(col.in_(c)))]


def list_rows(
    conn: Connection,
    *,
    status: str | None,
    since: int | None,
    until: int | None,
    limit: int,
    include_merged: bool,
) -> list[Any]:
    """Incidents by time, newest first."""
    q = select(incidents)
    if status:
        q = q.where(INC.status == status)
    if since is not None:
        q = q.where(INC.t >= since)
    if until is not None:
        q = q.where(INC.t < until)
    if not include_merged:
        q = q.where(INC.merged_into.is_(None))
    q = q.order_by(INC.t.desc(), INC.id.desc()).limit(limit)
    return list(conn.execute(q).all())


def get(conn: Connection, incident_id: int) -> Any:
    return conn.execute(select(incidents).where(INC.id == incident_id)).first()


def by_ids(conn: Connection, ids: Sequence[int], *cols: Any) -> list[Any]:
    """The incidents ``ids`` (all columns, or ``cols``)."""
    q = select(*cols) if cols else select(incidents)
    return rows_in(conn, q, INC.id, ids)


def history(conn: Connection, incident_id: int) -> list[Any]:
    sc = status_changes.c
    q = select(status_changes).where(sc.incident_id == incident_id).order_by(sc.id)
    return list(conn.execute(q).all())


def members(conn: Connection, ids: Sequence[int]) -> list[Any]:
    """Member observations of ``ids`` with their source's group, by incident, time, id."""
    o, s = observations.c, sources.c
    q = (
        select(
            IO.incident_id, o.id, o.uid, o.source_id, s.independence_group, o.t, o.kind,
            o.lon, o.lat, o.bearing_deg, o.credibility, o.actor, o.ledger_index,
        )
        .join(observations, o.id == IO.observation_id)
        .join(sources, s.id == o.source_id)
    )  # fmt: skip
    rows = rows_in(conn, q, IO.incident_id, ids)
    return sorted(rows, key=lambda r: (r[0], r[5], r[1]))  # incident, t, id


def member_ids(conn: Connection, ids: Sequence[int]) -> dict[int, list[int]]:
    """Member observation ids of each incident in ``ids``, ascending."""
    out: dict[int, list[int]] = {}
    q = select(IO.incident_id, IO.observation_id)
    for i, o in sorted(rows_in(conn, q, IO.incident_id, ids), key=lambda r: r[1]):
        out.setdefault(int(i), []).append(int(o))
    return out


def statuses(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    return {int(i): str(s) for i, s in rows_in(conn, select(INC.id, INC.status), INC.id, ids)}


def count_by_status(conn: Connection) -> dict[str, int]:
    """Incidents not merged away, by status."""
    q = select(INC.status, func.count()).where(INC.merged_into.is_(None)).group_by(INC.status)
    return {str(s): int(n) for s, n in conn.execute(q)}


def t_range(conn: Connection) -> tuple[int | None, int | None]:
    lo, hi = conn.execute(select(func.min(INC.t), func.max(INC.t))).one()
    return lo, hi


def _new_ids(conn: Connection, n: int) -> list[int]:
    """``n`` fresh incident ids, ascending (the caller holds the write lock)."""
    if conn.dialect.name == "postgresql":
        q = text(
            "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, :n)"
        )
        return sorted(int(i) for i in conn.execute(q, {"n": n}).scalars())
    top = conn.execute(select(func.coalesce(func.max(INC.id), 0))).scalar_one()
    return list(range(int(top) + 1, int(top) + 1 + n))


def insert_incidents(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert new incidents (rows of the same keys), in bulk; returns their ids in the
    order of ``rows``, ascending (ids are assigned in creation order)."""
    if not rows:
        return []
    ids = _new_ids(conn, len(rows))
    cols = list(rows[0])
    data = [(i, *(r[c] for c in cols)) for i, r in zip(ids, rows, strict=True)]
    insert_many(conn, incidents, ["id", *cols], data)
    return ids


def insert_incident_columns(conn: Connection, columns: Mapping[str, Sequence[Any]]) -> list[int]:
    """Insert new incidents given as columns (equal-length lists of plain values), in
    bulk; returns their ids in order, ascending (ids are assigned in creation order)."""
    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    if n == 0:
        return []
    ids = _new_ids(conn, n)
    insert_many(conn, incidents, ["id", *names], list(zip(ids, *columns.values(), strict=True)))
    return ids


def update_incident_columns(
    conn: Connection, ids: Sequence[int], columns: Mapping[str, Sequence[Any]]
) -> None:
    """Update the incidents ``ids`` with columns (equal-length lists of plain values)."""
    if len(ids):
        rows = list(zip(*columns.values(), ids, strict=True))
        update_many(conn, incidents, "id", list(columns), rows)


def update_incidents(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Update incidents (rows of the same keys), in bulk; each names its incident as
    ``b_id``."""
    if rows:
        cols = [c for c in rows[0] if c != "b_id"]
        data = [(*(r[c] for c in cols), r["b_id"]) for r in rows]
        update_many(conn, incidents, "id", cols, data)


def set_statuses(conn: Connection, moves: Sequence[tuple[int, str]], now: int) -> None:
    if moves:
        stmt = (
            incidents.update()
            .where(INC.id == bindparam("iid"))
            .values(status=bindparam("st"), updated_at=now)
        )
        conn.execute(stmt, [{"iid": i, "st": s} for i, s in moves])


def mark_merged(conn: Connection, merged: Mapping[int, int], now: int) -> None:
    """Record that each absorbed incident was merged into its survivor."""
    if merged:
        conn.execute(
            update(incidents).where(INC.id == bindparam("b_id")),
            [{"b_id": a, "merged_into": s, "updated_at": now} for a, s in merged.items()],
        )


def move_members(conn: Connection, merged: Mapping[int, int]) -> None:
    """Move the members of each absorbed incident to its survivor."""
    if merged:
        conn.execute(
            update(incident_observations).where(IO.incident_id == bindparam("b_from")),
            [{"b_from": a, "incident_id": s} for a, s in merged.items()],
        )


def insert_status_change_columns(conn: Connection, columns: Mapping[str, Sequence[Any]]) -> None:
    """Insert status changes given as columns (equal-length lists of plain values)."""
    rows = list(zip(*columns.values(), strict=True))
    insert_many(conn, status_changes, list(columns), rows)


def insert_status_changes(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert status changes (rows of the same keys), in bulk."""
    if rows:
        cols = list(rows[0])
        insert_many(conn, status_changes, cols, [tuple(r[c] for c in cols) for r in rows])


def set_sides(conn: Connection, sides: Sequence[tuple[int, str | None]]) -> None:
    update_many(conn, incidents, "id", ["side"], [(s, i) for i, s in sides])


def set_actors(conn: Connection, rows: Sequence[tuple[int, Any, Any, Any]]) -> None:
    """``(incident_id, actor, actor_confidence, actor_basis)`` per incident."""
    if rows:
        stmt = (
            incidents.update()
            .where(INC.id == bindparam("iid"))
            .values(actor=bindparam("ac"), actor_confidence=bindparam("acc"),
                    actor_basis=bindparam("ab"))
        )  # fmt: skip
        conn.execute(stmt, [{"iid": i, "ac": a, "acc": c, "ab": b} for i, a, c, b in rows])


_SIDE_COLS = (INC.id, INC.t, INC.lon, INC.lat, INC.radius_m, INC.ellipse)


def side_inputs(conn: Connection, ids: Sequence[int] | None) -> list[Any]:
    """Place of the incidents ``ids``, or of every incident without a side yet."""
    if ids is None:
        return list(conn.execute(select(*_SIDE_COLS).where(INC.side.is_(None))).all())
    return by_ids(conn, ids, *_SIDE_COLS)


def attribution_rows(conn: Connection, ids: Sequence[int] | None, *, skip_kind: str) -> list[Any]:
    """Members naming an actor (not of ``skip_kind``), with their source's group, type
    and party: ``(incident_id, source_id, t, credibility, actor, attrs, group, type,
    party)``."""
    o, s = observations.c, sources.c
    q = (
        select(IO.incident_id, o.source_id, o.t, o.credibility, o.actor, o.attrs,
               s.independence_group, s.type, s.party)
        .join(observations, o.id == IO.observation_id)
        .join(sources, s.id == o.source_id)
        .where(o.actor.is_not(None), o.kind != skip_kind)
    )  # fmt: skip
    if ids is None:
        return list(conn.execute(q).all())
    return rows_in(conn, q, IO.incident_id, ids)


def open_incidents(
    conn: Connection,
    *,
    status: str,
    kinds: Sequence[str],
    ids: Sequence[int] | None = None,
    windows: Sequence[tuple[int, int]] = (),
) -> list[Any]:
    """Incidents of ``status`` and ``kinds`` not merged away, among ``ids`` or with a time
    in one of ``windows``: ``(id, t, lon, lat, status, t_start, t_end, radius_m)``."""
    q = select(
        INC.id, INC.t, INC.lon, INC.lat, INC.status, INC.t_start, INC.t_end, INC.radius_m
    ).where(INC.status == status, INC.merged_into.is_(None), INC.kind.in_(list(kinds)))
    if ids is not None:
        return rows_in(conn, q, INC.id, ids)
    rows = [r for a, b in windows for r in conn.execute(q.where(INC.t >= a, INC.t < b))]
    return list({r[0]: r for r in rows}.values())


def member_sources(conn: Connection, ids: Sequence[int]) -> list[tuple[int, str]]:
    """``(incident_id, source_id)`` of every member of ``ids``."""
    o = observations.c
    q = select(IO.incident_id, o.source_id).join(observations, o.id == IO.observation_id)
    return [(int(i), str(s)) for i, s in rows_in(conn, q, IO.incident_id, ids)]


def actors(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[Any, Any, Any]]:
    """``id -> (actor, actor_confidence, actor_basis)`` of the incidents ``ids``."""
    q = select(INC.id, INC.actor, INC.actor_confidence, INC.actor_basis)
    return {int(r[0]): (r[1], r[2], r[3]) for r in rows_in(conn, q, INC.id, ids)}
