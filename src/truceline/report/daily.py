"""What a daily report says, read from the store: the day's counts, incidents,
findings, coverage caveats and the ledger's latest signed tree head.

:func:`gather_daily` reads (one connection, no writes); :func:`daily_json` gives the
documented JSON shape (see :data:`JSON_SHAPE`). Wording stays neutral: a party is
named only where a finding or an incident states it, with its basis.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from truceline.store.schema import coverage, findings, incidents, observations, sources

__all__ = [
    "JSON_SHAPE",
    "DailyData",
    "TreeHeadView",
    "daily_json",
    "day_bounds",
    "days_with_incidents",
    "gather_daily",
    "standing",
]

#: The report's JSON, one key per line (``?`` marks a key that may be null).
JSON_SHAPE = """\
report: "daily"; schema: 1; date: "YYYY-MM-DD"
period: {start, end: epoch s UTC (end exclusive), start_iso, end_iso}
agreement?: {id, version, title, parties: [{id, name}]}
counts: {observations: {total, by_kind: {kind: n}},
         incidents: {total, by_status: {status: n}, by_kind: {kind: n},
                     by_sector: {sector|"(none)": n},
                     by_sector_kind: [{sector?, kind, n}]},
         findings: {total, by_rule: {rule_id: n},
                    by_party: {party|"(not determined)": n}, dismissed}}
         (findings counts are of open and confirmed findings; dismissed ones only listed)
incidents: [{id, t, t_iso, t_start, t_end, kind, weapon_class?, count, status, confidence,
             sector?, lon, lat, radius_m, ellipse?, n_observations, n_groups,
             actor?, actor_confidence?, actor_basis?}]
findings: [{id, rule_id, rule_kind, status, severity, confidence, party?, party_basis?,
            summary, incidents: [incident id], lon?, lat?, period_start, period_end}]
coverage: [{source_id, source_type, kind: "outage"|"denied", t_start, t_end, note?}]
coverage_by_sector: {sector: share of the sector's area x day some source observed, 0..1}
                    (empty when no coverage was declared for the day)
tree_head?: {size, root_hash, issued_at, issued_iso, checkpoint}
map: file name of the PNG map beside the JSON
generated_at: ISO time the report was written
"""


@dataclass(frozen=True, slots=True)
class TreeHeadView:
    size: int
    root_hash: str
    issued_at: int
    checkpoint: str


@dataclass(slots=True)
class DailyData:
    """Everything the daily report shows, as plain data."""

    day: date
    start: int
    end: int
    agreement: Any | None  # truceline.compliance.agreement.Agreement
    obs_by_kind: dict[str, int]
    incidents: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    coverage: list[dict[str, Any]] = field(default_factory=list)
    coverage_by_sector: dict[str, float] = field(default_factory=dict)
    tree_head: TreeHeadView | None = None


def day_bounds(day: date) -> tuple[int, int]:
    """Epoch seconds of the day's start (00:00 UTC) and of the next day's start."""
    t0 = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return t0, t0 + 86400


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


_INCIDENT_COLS = (
    "id t t_start t_end kind weapon_class count status confidence sector lon lat radius_m "
    "ellipse n_observations n_groups actor actor_confidence actor_basis"
).split()


def _incidents(conn: Connection, t0: int, t1: int) -> list[dict[str, Any]]:
    cols = [incidents.c[c] for c in _INCIDENT_COLS]
    q = (
        select(*cols)
        .where(and_(incidents.c.t >= t0, incidents.c.t < t1, incidents.c.merged_into.is_(None)))
        .order_by(incidents.c.t, incidents.c.id)
    )
    out = []
    for row in conn.execute(q).mappings():
        d = dict(row)
        d["t_iso"] = _iso(int(d["t"]))
        d["ellipse"] = json.loads(d["ellipse"]) if d["ellipse"] else None
        out.append(d)
    return out


def _findings(conn: Connection, t0: int, t1: int) -> list[dict[str, Any]]:
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
        out.append(d)
    return out


def _coverage(conn: Connection, t0: int, t1: int) -> list[dict[str, Any]]:
    """Outages and denials of access that overlap the day: what the mission could not see."""
    c = coverage.c
    q = (
        select(c.source_id, sources.c.type.label("source_type"), c.kind, c.t_start, c.t_end)
        .add_columns(c.note)
        .join(sources, sources.c.id == c.source_id)
        .where(and_(c.kind.in_(["outage", "denied"]), c.t_start < t1, c.t_end > t0))
        .order_by(c.t_start, c.source_id)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def _sector_coverage(conn: Connection, agreement: Any | None, t0: int, t1: int) -> dict[str, float]:
    """Observed share of each sector over the day (teammate C2's ``coverage_of``)."""
    from truceline.service.coverage import coverage_of, coverage_records

    if agreement is None or not coverage_records(conn, t0, t1):
        return {}
    sectors = {z.id: z.geometry for z in agreement.zones_of("sector")}
    return {k: round(float(v), 3) for k, v in sorted(coverage_of(conn, sectors, t0, t1).items())}


def _tree_head(conn: Connection) -> TreeHeadView | None:
    from truceline.service.ledger import latest_tree_head  # teammate E's

    th = latest_tree_head(conn)
    if th is None:
        return None
    root = th.root_hash if isinstance(th.root_hash, str) else bytes(th.root_hash).hex()
    return TreeHeadView(int(th.size), root, int(th.issued_at), str(th.checkpoint))


def _agreement(conn: Connection, t: int) -> Any | None:
    from truceline.service.agreements import agreement_in_force  # teammate A's

    return agreement_in_force(conn, t)


def gather_daily(conn: Connection, day: date) -> DailyData:
    """Read what the report of ``day`` (UTC) shows."""
    t0, t1 = day_bounds(day)
    by_kind = conn.execute(
        select(observations.c.kind, func.count())
        .where(and_(observations.c.t >= t0, observations.c.t < t1))
        .group_by(observations.c.kind)
    ).all()
    agreement = _agreement(conn, t0 + 43200)
    return DailyData(
        day=day,
        start=t0,
        end=t1,
        agreement=agreement,
        obs_by_kind={str(k): int(n) for k, n in sorted(by_kind)},
        incidents=_incidents(conn, t0, t1),
        findings=_findings(conn, t0, t1),
        coverage=_coverage(conn, t0, t1),
        coverage_by_sector=_sector_coverage(conn, agreement, t0, t1),
        tree_head=_tree_head(conn),
    )


def standing(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings that stand (open or confirmed): a dismissed one is listed with its
    status but counted against no rule or party."""
    return [f for f in findings if f["status"] != "dismissed"]


def _counts(data: DailyData) -> dict[str, Any]:
    inc = data.incidents
    standing_ = standing(data.findings)
    by_sk = Counter((i["sector"], i["kind"]) for i in inc)
    return {
        "observations": {"total": sum(data.obs_by_kind.values()), "by_kind": data.obs_by_kind},
        "incidents": {
            "total": len(inc),
            "by_status": dict(sorted(Counter(i["status"] for i in inc).items())),
            "by_kind": dict(sorted(Counter(i["kind"] for i in inc).items())),
            "by_sector": dict(sorted(Counter(i["sector"] or "(none)" for i in inc).items())),
            "by_sector_kind": [
                {"sector": s, "kind": k, "n": n}
                for (s, k), n in sorted(by_sk.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
            ],
        },
        "findings": {
            "total": len(standing_),
            "by_rule": dict(sorted(Counter(f["rule_id"] for f in standing_).items())),
            "by_party": dict(
                sorted(Counter(f["party"] or "(not determined)" for f in standing_).items())
            ),
            "dismissed": len(data.findings) - len(standing_),
        },
    }


def daily_json(data: DailyData, map_name: str, now: datetime | None = None) -> dict[str, Any]:
    """The report as JSON-ready data, in the shape :data:`JSON_SHAPE` documents."""
    a = data.agreement
    th = data.tree_head
    return {
        "report": "daily",
        "schema": 1,
        "date": data.day.isoformat(),
        "period": {
            "start": data.start,
            "end": data.end,
            "start_iso": _iso(data.start),
            "end_iso": _iso(data.end),
        },
        "agreement": None
        if a is None
        else {
            "id": a.id,
            "version": a.version,
            "title": a.title,
            "parties": [{"id": p.id, "name": p.name} for p in a.parties],
        },
        "counts": _counts(data),
        "incidents": data.incidents,
        "findings": data.findings,
        "coverage": data.coverage,
        "coverage_by_sector": data.coverage_by_sector,
        "tree_head": None
        if th is None
        else {
            "size": th.size,
            "root_hash": th.root_hash,
            "issued_at": th.issued_at,
            "issued_iso": _iso(th.issued_at),
            "checkpoint": th.checkpoint,
        },
        "map": map_name,
        "generated_at": (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
    }


def days_with_incidents(conn: Connection) -> list[tuple[date, int]]:
    """Each UTC day with incidents, and how many (for the index and the busiest day)."""
    day = (incidents.c.t - incidents.c.t % 86400).label("day")
    rows = conn.execute(
        select(day, func.count())
        .where(incidents.c.merged_into.is_(None))
        .group_by(day)
        .order_by(day)
    ).all()
    return [(datetime.fromtimestamp(int(d), UTC).date(), int(n)) for d, n in rows]
