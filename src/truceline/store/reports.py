"""What the reports read: a period's incidents, findings, coverage gaps and
observation tallies, and the days that hold data. Plain dicts out; no writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from truceline.store.schema import (
    coverage,
    findings,
    incident_observations,
    incidents,
    observations,
    sources,
)

__all__ = [
    "coverage_gaps",
    "days_with_data",
    "days_with_incidents",
    "incident_remarks",
    "source_ids",
    "observation_tallies",
    "period_findings",
    "period_incidents",
]

_INCIDENT_COLS = (
    "id t t_start t_end kind weapon_class count status confidence sector lon lat radius_m "
    "ellipse n_observations n_groups actor actor_confidence actor_basis side"
).split()


def period_incidents(conn: Connection, t0: int, t1: int) -> list[dict[str, Any]]:
    """Incidents (not merged away) whose fused time lies in ``[t0, t1)``, by time."""
    cols = [incidents.c[c] for c in _INCIDENT_COLS]
    q = (
        select(*cols)
        .where(and_(incidents.c.t >= t0, incidents.c.t < t1, incidents.c.merged_into.is_(None)))
        .order_by(incidents.c.t, incidents.c.id)
    )
    out = []
    for row in conn.execute(q).mappings():
        d = dict(row)
        d["ellipse"] = json.loads(d["ellipse"]) if d["ellipse"] else None
        d["side"] = json.loads(d["side"]) if d["side"] else None
        out.append(d)
    return out


def period_findings(conn: Connection, t0: int, t1: int) -> list[dict[str, Any]]:
    """Findings whose period meets ``[t0, t1)``, by rule and id."""
    f = findings.c
    q = (
        select(f.id, f.rule_id, f.rule_kind, f.status, f.severity, f.confidence, f.party)
        .add_columns(f.party_basis, f.summary, f.evidence, f.lon, f.lat)
        .add_columns(f.period_start, f.period_end)
        .where(f.period_start < t1, or_(f.period_end > t0, f.period_start >= t0))
        .order_by(f.rule_id, f.id)
    )
    out = []
    for row in conn.execute(q).mappings():
        d = dict(row)
        ev = json.loads(d.pop("evidence") or "{}")
        d["incidents"] = [int(i) for i in ev.get("incidents", [])]
        d["superseded_by"] = ev.get("superseded_by")
        d["wording"] = ev.get("summary")  # the summary as msgid and arguments, if the rule gave it
        d["basis_wording"] = ev.get("basis")  # and the party's basis likewise
        out.append(d)
    return out


def incident_remarks(conn: Connection, incident_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The free-text remarks (descriptions) of the observations behind ``incident_ids``:
    incident, source, source type, time and text, by incident and time."""
    if not incident_ids:
        return []
    o, io = observations.c, incident_observations.c
    q = (
        select(io.incident_id.label("incident"), o.source_id, sources.c.type.label("source_type"))
        .add_columns(o.t, o.description.label("text"))
        .join(observations, o.id == io.observation_id)
        .join(sources, sources.c.id == o.source_id)
        .where(io.incident_id.in_(list(incident_ids)), o.description.is_not(None))
        .where(o.description != "")
        .order_by(io.incident_id, o.t, o.id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def source_ids(conn: Connection) -> set[str]:
    """Every registered source's id (what a public text must not name)."""
    return {str(r[0]) for r in conn.execute(select(sources.c.id))}


def coverage_gaps(conn: Connection, t0: int, t1: int) -> list[dict[str, Any]]:
    """Outages and denials of access that overlap ``[t0, t1)``: what the mission could
    not see, with the source's type and party channel (for the public edition to sum)."""
    c = coverage.c
    q = (
        select(c.source_id, sources.c.type.label("source_type"), c.kind, c.t_start, c.t_end)
        .add_columns(c.note, c.minx, c.miny, c.maxx, c.maxy)
        .join(sources, sources.c.id == c.source_id)
        .where(and_(c.kind.in_(["outage", "denied"]), c.t_start < t1, c.t_end > t0))
        .order_by(c.t_start, c.source_id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def observation_tallies(conn: Connection, t0: int, t1: int) -> dict[str, tuple[int, int]]:
    """Per observation kind: (observations, sum of their counts) received for ``[t0, t1)``."""
    o = observations.c
    rows = conn.execute(
        select(o.kind, func.count(), func.coalesce(func.sum(o.count), 0))
        .where(and_(o.t >= t0, o.t < t1))
        .group_by(o.kind)
    ).all()
    return {str(k): (int(n), int(s)) for k, n, s in sorted(rows)}


def _days(conn: Connection, table: Any, where: Any = None) -> list[tuple[date, int]]:
    day = (table.c.t - table.c.t % 86400).label("day")
    q = select(day, func.count()).group_by(day).order_by(day)
    if where is not None:
        q = q.where(where)
    return [(datetime.fromtimestamp(int(d), UTC).date(), int(n)) for d, n in conn.execute(q)]


def days_with_incidents(
    conn: Connection, statuses: Sequence[str] | None = None
) -> list[tuple[date, int]]:
    """Each UTC day with incidents (of ``statuses`` only, if given), and how many."""
    where: ColumnElement[bool] = incidents.c.merged_into.is_(None)
    if statuses is not None:
        where = and_(where, incidents.c.status.in_(list(statuses)))
    return _days(conn, incidents, where)


def days_with_data(conn: Connection) -> list[date]:
    """Each UTC day with observations or incidents."""
    return sorted(
        {d for d, _ in _days(conn, observations)} | {d for d, _ in days_with_incidents(conn)}
    )
