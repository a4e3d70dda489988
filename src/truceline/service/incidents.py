"""Incidents: listing, showing, the audited lifecycle, and the side of the line.

Every status change, whether an analyst's (verify, reject, dispute, reopen) or
fusion's, stores who, when, why and a JSON snapshot of the evidence then (member
observations with their sources, groups and ledger indices; confidence; attribution)
in ``status_changes`` and appends the same record to the ledger, in one
transaction. Nothing is deleted: a merged incident keeps its row (``merged_into``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from truceline.domain.errors import Conflict, InputError, NotFound
from truceline.domain.vocab import IncidentStatus
from truceline.service.workspace import Workspace
from truceline.store import incidents as store
from truceline.store.db import Connection, Row, reading, writing

if TYPE_CHECKING:  # numpy, shapely and the side maths load only when sides are computed
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "IncidentDetail",
    "IncidentInfo",
    "StatusChange",
    "change_status",
    "dispute",
    "evidence_snapshots",
    "list_incidents",
    "record_transitions",
    "reject",
    "reopen",
    "show_incident",
    "update_sides",
    "verify",
]


@dataclass(frozen=True, slots=True)
class IncidentInfo:
    id: int
    t: int
    t_start: int
    t_end: int
    lon: float
    lat: float
    radius_m: float
    ellipse: dict[str, Any] | None
    kind: str
    weapon_class: str | None
    count: int
    status: str
    n_observations: int
    n_groups: int
    confidence: float
    actor: str | None
    actor_confidence: float | None
    actor_basis: str | None
    sector: str | None
    side: dict[str, float] | None
    merged_into: int | None


@dataclass(frozen=True, slots=True)
class StatusChange:
    incident_id: int
    from_status: str | None
    to_status: str
    actor: str
    at: int
    reason: str
    evidence: dict[str, Any]
    ledger_index: int | None


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: IncidentInfo
    observations: list[dict[str, Any]]
    history: list[StatusChange]


def _info(r: Row[Any]) -> IncidentInfo:
    m = r._mapping
    ell, side = m["ellipse"], m["side"]
    return IncidentInfo(
        **{k: m[k] for k in IncidentInfo.__dataclass_fields__ if k not in ("ellipse", "side")},
        ellipse=None if ell is None else json.loads(ell),
        side=None if side is None else json.loads(side),
    )


def list_incidents(
    ws: Workspace,
    *,
    status: str | None = None,
    since: int | None = None,
    until: int | None = None,
    limit: int = 100,
    include_merged: bool = False,
) -> list[IncidentInfo]:
    """Incidents by time (newest first), optionally of one status and within a period."""
    if status and status not in {s.value for s in IncidentStatus}:
        raise InputError(f"status {status!r} is not one of {[s.value for s in IncidentStatus]}")
    with reading(ws.engine, "listing incidents") as conn:
        rows = store.list_rows(
            conn,
            status=status,
            since=since,
            until=until,
            limit=limit,
            include_merged=include_merged,
        )
    return [_info(r) for r in rows]


def _history(conn: Connection, incident_id: int) -> list[StatusChange]:
    return [
        StatusChange(
            r.incident_id,
            r.from_status,
            r.to_status,
            r.actor,
            r.at,
            r.reason,
            json.loads(r.evidence),
            r.ledger_index,
        )
        for r in store.history(conn, incident_id)
    ]


def show_incident(ws: Workspace, incident_id: int) -> IncidentDetail:
    """An incident, its observations and its history of status changes."""
    with reading(ws.engine, "reading an incident") as conn:
        row = store.get(conn, incident_id)
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        obs = [dict(r._mapping) for r in store.members(conn, [incident_id])]
        return IncidentDetail(_info(row), obs, _history(conn, incident_id))


def evidence_snapshots(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The evidence of each incident now, as stored with a status change."""
    rows = store.by_ids(conn, ids)
    snap: dict[int, dict[str, Any]] = {
        r.id: {
            "observations": [],
            "sources": [],
            "groups": [],
            "observation_ledger": [],
            "confidence": r.confidence,
            "n_groups": r.n_groups,
            "status": r.status,
            "actor": r.actor,
            "actor_confidence": r.actor_confidence,
            "actor_basis": r.actor_basis,
        }
        for r in rows
    }
    for m in store.members(conn, ids):
        e = snap[m.incident_id]
        e["observations"].append(m.id)
        e["observation_ledger"].append(m.ledger_index)
        if m.source_id not in e["sources"]:
            e["sources"].append(m.source_id)
        if m.independence_group not in e["groups"]:
            e["groups"].append(m.independence_group)
    for e in snap.values():
        e["sources"].sort()
        e["groups"].sort()
    return {k: {kk: vv for kk, vv in v.items() if vv is not None} for k, v in snap.items()}


def record_transitions(
    conn: Connection,
    moves: Sequence[tuple[int, str | None, str]],
    *,
    actor: str,
    reason: str,
    at: int | None = None,
) -> list[StatusChange]:
    """Store ``(incident_id, from, to)`` moves with their evidence, in ``conn``'s transaction.

    Sets each incident's status; fusion calls this for the moves its evidence makes.
    """
    if not moves:
        return []
    from truceline.store import ledger as log  # (listing and showing need no ledger)

    now = int(time.time()) if at is None else at
    snaps = evidence_snapshots(conn, [m[0] for m in moves])
    recs: list[dict[str, Any]] = [
        {
            "incident_id": i,
            "from_status": f,
            "to_status": t,
            "actor": actor,
            "at": now,
            "reason": reason,
            "evidence": snaps.get(i, {}),
        }
        for i, f, t in moves
    ]
    idx = log.append(
        conn,
        "status_change",
        [(str(r["incident_id"]), {k: v for k, v in r.items() if v is not None}) for r in recs],
    )
    store.insert_status_changes(
        conn,
        [
            {**r, "evidence": json.dumps(r["evidence"], sort_keys=True), "ledger_index": i}
            for r, i in zip(recs, idx, strict=True)
        ],
    )
    store.set_statuses(conn, [(r["incident_id"], r["to_status"]) for r in recs], now)
    return [
        StatusChange(i, f, t, actor, now, reason, snaps.get(i, {}), li)
        for (i, f, t), li in zip(moves, idx, strict=True)
    ]


def change_status(
    ws: Workspace, incident_id: int, action: str, *, reason: str, actor: str
) -> StatusChange:
    """An analyst's ``verify``, ``reject``, ``dispute`` or ``reopen`` of an incident."""
    if not reason.strip():
        raise InputError("a status change needs a reason")
    if not actor.strip():
        raise InputError("a status change needs an actor")
    from truceline.fusion.lifecycle import next_status
    from truceline.store import ledger as log

    with writing(ws.engine, "changing an incident's status") as conn:
        log.lock(conn)  # read the status as the last writer left it (PostgreSQL)
        row = store.get(conn, incident_id)
        if row is None:
            raise NotFound(f"no incident {incident_id}")
        if row.merged_into is not None:
            raise Conflict(f"incident {incident_id} was merged into {row.merged_into}; act on it")
        to = next_status(row.status, action, row.n_groups)
        (change,) = record_transitions(
            conn, [(incident_id, row.status, to.value)], actor=actor, reason=reason
        )
        return change


def verify(ws: Workspace, incident_id: int, *, reason: str, actor: str) -> StatusChange:
    return change_status(ws, incident_id, "verify", reason=reason, actor=actor)


def reject(ws: Workspace, incident_id: int, *, reason: str, actor: str) -> StatusChange:
    return change_status(ws, incident_id, "reject", reason=reason, actor=actor)


def dispute(ws: Workspace, incident_id: int, *, reason: str, actor: str) -> StatusChange:
    return change_status(ws, incident_id, "dispute", reason=reason, actor=actor)


def reopen(ws: Workspace, incident_id: int, *, reason: str, actor: str) -> StatusChange:
    return change_status(ws, incident_id, "reopen", reason=reason, actor=actor)


Control: TypeAlias = "Sequence[tuple[int, int | None, Mapping[str, BaseGeometry]]]"


def _control_from_agreements(conn: Connection) -> Control:
    import shapely

    from truceline.service.agreements import agreement_versions

    out = []
    for a in agreement_versions(conn):
        by_party: dict[str, list[BaseGeometry]] = {}
        for z in a.zones_of("control"):
            if z.party:
                by_party.setdefault(z.party, []).append(z.geometry)
        out.append(
            (a.valid_from, a.valid_to, {p: shapely.union_all(g) for p, g in by_party.items()})
        )
    return out


def update_sides(
    ws: Workspace, control: Control | None = None, ids: Sequence[int] | None = None
) -> int:
    """Fill ``incidents.side`` where missing (or recompute it for ``ids``, e.g. incidents
    fusion moved), from the control areas in force at each incident's time (of overlapping
    versions, the latest-starting); ``control``
    = ``[(valid_from, valid_to|None, {party: geom})]`` (default: every stored agreement
    version's ``control`` zones). Returns the count. Each side is stored as JSON and
    ledgered (``incident_side``), both made for the whole batch at once."""
    import numpy as np

    from truceline.fusion.side import side_probabilities

    with writing(ws.engine, "computing sides") as conn:
        versions = _control_from_agreements(conn) if control is None else control
        if not versions:  # no control areas: nothing to read
            return 0
        rows = store.side_inputs(conn, ids)
        if not rows:
            return 0
        iid, t, lon, lat, radius, ellipse = (list(c) for c in zip(*rows, strict=True))
        tt = np.array(t, np.int64)
        # as agreement_in_force: of the versions in force at t, the latest-starting decides
        versions = sorted(versions, key=lambda v: v[0])
        chosen = np.full(len(rows), -1)
        for k, (vf, vt, _) in enumerate(versions):
            chosen[(tt >= vf) & (tt < (vt if vt is not None else np.iinfo(np.int64).max))] = k
        done = 0
        for k, (_, _, areas) in enumerate(versions):
            sel = np.flatnonzero(chosen == k).tolist()
            if not sel or not areas:
                continue
            ell = [json.loads(ellipse[i]) if ellipse[i] else {} for i in sel]
            sp = side_probabilities(
                [lon[i] for i in sel],
                [lat[i] for i in sel],
                [radius[i] for i in sel],
                areas,
                semi_major_m=[e.get("semi_major_m", np.nan) for e in ell],
                semi_minor_m=[e.get("semi_minor_m", np.nan) for e in ell],
                azimuth_deg=[e.get("azimuth_deg", np.nan) for e in ell],
            )
            part = [iid[i] for i in sel]
            store.set_sides(conn, list(zip(part, _side_texts(sp), strict=True)))
            _ledger_sides(conn, part, sp)  # side probabilities are disputed facts
            done += len(part)
        return done


def _side_texts(sp: Any) -> list[str]:
    """``json.dumps({party: p}, sort_keys=True)`` of each incident (a float's ``repr`` is
    what ``json`` writes), made from the rounded array without a dict per incident."""
    import numpy as np

    order = sorted(range(len(sp.parties)), key=lambda k: sp.parties[k])
    keys = [json.dumps(sp.parties[k]) + ": " for k in order]
    values = np.round(sp.p, 4)[:, order].tolist()
    return ["{" + ", ".join(k + repr(v) for k, v in zip(keys, row, strict=True)) + "}"
            for row in values]  # fmt: skip


def _ledger_sides(conn: Connection, ids: list[int], sp: Any) -> None:
    """One ``incident_side`` entry ``{"incident_id", "side": {party: p}}`` per incident,
    canonicalised as columns (``ledger.columnar``)."""
    import numpy as np
    import pyarrow as pa

    from truceline.ledger.columnar import canonical_rows, entry_rows
    from truceline.store import ledger as log

    p = np.round(sp.p, 4)
    side = canonical_rows({party: pa.array(p[:, k]) for k, party in enumerate(sp.parties)})
    ref = pa.array(ids, pa.int64())
    records = canonical_rows({"incident_id": ref, "side": side.cast(pa.string())}, raw={"side"})
    at = int(time.time())
    refs = ref.cast(pa.string())
    log.append_data(
        conn,
        "incident_side",
        refs.to_pylist(),
        entry_rows("incident_side", refs, records, at).to_pylist(),
        at,
    )
