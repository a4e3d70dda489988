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
    import numpy as np
    import pyarrow as pa
    from numpy.typing import NDArray
    from shapely.geometry.base import BaseGeometry

__all__ = [
    "IncidentDetail",
    "IncidentInfo",
    "StatusChange",
    "change_status",
    "control_versions",
    "dispute",
    "evidence_snapshots",
    "ledger_sides",
    "list_incidents",
    "record_transitions",
    "reject",
    "reopen",
    "show_incident",
    "side_texts",
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


def control_versions(conn: Connection) -> Control:
    """Every stored agreement version's ``control`` zones, one geometry per party:
    ``[(valid_from, valid_to|None, {party: geom})]``."""
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


def side_texts(
    control: Control,
    t: NDArray[np.int64],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    radius_m: NDArray[np.float64],
    ellipse: Sequence[str | None] | NDArray[np.object_],
) -> pa.Array:
    """The side of each place (at time ``t``, with its 95 % ``radius_m`` or its ``ellipse``
    JSON) from the control areas in force then (of overlapping versions, the
    latest-starting): ``{party: p}`` (``p`` rounded to 1e-4) as RFC 8785 text, the text
    stored in ``incidents.side`` and ledgered; null where no version with control areas is
    in force."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from truceline.fusion.side import side_probabilities
    from truceline.ledger.columnar import canonical_rows

    n = len(t)
    versions = sorted(control, key=lambda v: v[0])
    chosen = np.full(n, -1)
    tt = np.asarray(t, np.int64)
    for k, (vf, vt, _) in enumerate(versions):
        chosen[(tt >= vf) & (tt < (vt if vt is not None else np.iinfo(np.int64).max))] = k
    out = pa.nulls(n, pa.string())
    for k, (_, _, areas) in enumerate(versions):
        sel = np.flatnonzero(chosen == k)
        if not sel.size or not areas:
            continue
        shaped = [(i, json.loads(e)) for i in sel.tolist() if (e := ellipse[i])]
        axes = np.full((n, 3), np.nan)
        for i, e in shaped:
            axes[i] = [e.get(c, np.nan) for c in ("semi_major_m", "semi_minor_m", "azimuth_deg")]
        sp = side_probabilities(
            lon[sel], lat[sel], radius_m[sel], areas,
            semi_major_m=axes[sel, 0], semi_minor_m=axes[sel, 1], azimuth_deg=axes[sel, 2],
        )  # fmt: skip
        p = np.round(sp.p, 4)
        text = canonical_rows({party: pa.array(p[:, j]) for j, party in enumerate(sp.parties)})
        mask = np.zeros(n, bool)
        mask[sel] = True
        spread = pa.array(np.cumsum(mask) - 1, pa.int64(), mask=~mask)
        out = pc.coalesce(out, text.cast(pa.string()).take(spread))
    return out


def ledger_sides(conn: Connection, ids: pa.Array, sides: pa.Array, at: int) -> None:
    """One ``incident_side`` entry ``{"incident_id", "side": {party: p}}`` per incident
    with a side (``sides``: :func:`side_texts`), canonicalised as columns
    (``ledger.columnar``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from truceline.ledger.columnar import canonical_rows, entry_rows
    from truceline.store import ledger as log

    have = pc.is_valid(sides)
    ref, side = ids.cast(pa.int64()).filter(have), sides.filter(have)
    if not len(ref):
        return
    records = canonical_rows({"incident_id": ref, "side": side}, raw={"side"})
    refs = ref.cast(pa.string())
    datas = entry_rows("incident_side", refs, records, at).to_pylist()
    log.append_data(conn, "incident_side", refs.to_pylist(), datas, at)


def update_sides(
    ws: Workspace, control: Control | None = None, ids: Sequence[int] | None = None
) -> int:
    """Fill ``incidents.side`` where missing (or recompute it for ``ids``) with
    :func:`side_texts`; ``control`` = ``[(valid_from, valid_to|None, {party: geom})]``
    (default: every stored agreement version's ``control`` zones). Returns the count.
    Each side is ledgered (``incident_side``); fusion sets the sides of what it stores
    itself, in its own transaction."""
    import numpy as np
    import pyarrow as pa

    with writing(ws.engine, "computing sides") as conn:
        versions = control_versions(conn) if control is None else control
        if not versions:  # no control areas: nothing to read
            return 0
        rows = store.side_inputs(conn, ids)
        if not rows:
            return 0
        iid, t, lon, lat, radius, ellipse = (list(c) for c in zip(*rows, strict=True))
        f64 = np.float64
        sides = side_texts(
            versions, np.array(t, np.int64), np.array(lon, f64), np.array(lat, f64),
            np.array(radius, f64), ellipse,
        )  # fmt: skip
        have = np.asarray(sides.is_valid())
        done = [(i, s) for i, s, h in zip(iid, sides.to_pylist(), have.tolist(), strict=True) if h]
        store.set_sides(conn, done)
        ledger_sides(conn, pa.array(iid, pa.int64()), sides, int(time.time()))
        return len(done)
