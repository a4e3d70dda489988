"""Verification passes over fused incidents: attribution, silent-sensor disputes, sides.

Run after fusion (``truceline.service.fusion.fuse``), either inside its transaction
(:func:`attribute_incidents`, :func:`dispute_silent`, with the ids it touched) or on
their own (:func:`update_verification`, idempotent).

* **Attribution** (``fusion.grading.attribute``): only member observations that name
  an actor count (a denial names who denies, not who acted), one term per
  independence group, party channels at half weight; a technical basis is taken
  from an observation's ``attrs`` key ``attribution_method`` (e.g. "crater analysis").
* **Silent sensors** (``fusion.coverage.silent_sensors``): a fire incident that a
  camera, acoustic or UAV source's declared coverage held, at its place and time,
  while that source reported nothing, is moved to ``disputed`` (actor ``fusion``,
  the silent sources named in the reason).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, func, select

from truceline.domain.vocab import IncidentStatus, ObservationKind, SourceType
from truceline.fusion.coverage import silent_sensors
from truceline.fusion.grading import attribute
from truceline.service.coverage import coverage_records
from truceline.service.incidents import record_transitions, update_sides
from truceline.service.sources import reliability_at
from truceline.service.workspace import Workspace
from truceline.store import ledger as log
from truceline.store.db import writing
from truceline.store.schema import incident_observations, incidents, observations, sources

__all__ = ["VerificationUpdate", "attribute_incidents", "dispute_silent", "update_verification"]

_DETECTORS = {SourceType.CAMERA.value, SourceType.ACOUSTIC.value, SourceType.UAV.value}
#: kinds a camera or acoustic array declaring a view cannot miss (small-arms fire it can)
_DETECTABLE = (ObservationKind.EXPLOSION.value, ObservationKind.PROJECTILE.value)
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class VerificationUpdate:
    attributed: int  # incidents whose actor, confidence or basis changed
    disputed: int  # incidents moved to disputed by a silent sensor
    sides: int  # incidents given a side of the line


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[s : s + _CHUNK]) for s in range(0, len(ids), _CHUNK)]


def _method(attrs: str | None) -> str | None:
    if not attrs:
        return None
    try:
        v = json.loads(attrs).get("attribution_method")
    except (ValueError, AttributeError):
        return None
    return str(v) if v else None


def attribute_incidents(conn: Connection, ids: Sequence[int] | None = None) -> int:
    """Recompute actor, actor confidence and basis of ``ids`` (None: every incident with a
    member naming an actor); returns how many changed."""
    o, io, s = observations.c, incident_observations.c, sources.c
    q = (
        select(
            io.incident_id,
            o.source_id,
            o.t,
            o.credibility,
            o.actor,
            o.attrs,
            s.independence_group,
            s.type,
            s.party,
        )
        .join(observations, o.id == io.observation_id)
        .join(sources, s.id == o.source_id)
        .where(o.actor.is_not(None), o.kind != ObservationKind.DENIAL.value)
    )
    if ids is None:
        rows = conn.execute(q).all()
    else:
        rows = [r for c in _chunks(ids) for r in conn.execute(q.where(io.incident_id.in_(c)))]
    if not rows:
        return 0
    inc, lab = np.unique(np.array([r[0] for r in rows], np.int64), return_inverse=True)
    _, gcode = np.unique(np.array([r[6] for r in rows], dtype=str), return_inverse=True)
    rel = reliability_at(conn, [r[1] for r in rows], [r[2] for r in rows])
    party = [r[7] == SourceType.PARTY.value or r[8] is not None for r in rows]
    a = attribute(
        lab,
        gcode,
        [r[4] for r in rows],
        rel,
        [r[3] for r in rows],
        party,
        [_method(r[5]) for r in rows],
        n_incidents=inc.size,
    )
    cur = {
        int(r[0]): (r[1], r[2], r[3])
        for c in _chunks(inc.tolist())
        for r in conn.execute(
            select(
                incidents.c.id,
                incidents.c.actor,
                incidents.c.actor_confidence,
                incidents.c.actor_basis,
            ).where(incidents.c.id.in_(c))
        )
    }
    upd = []
    for k, iid in enumerate(inc.tolist()):
        conf = float(a.confidence[k])
        new = (a.actor[k], None if np.isnan(conf) else round(conf, 6), a.basis[k])
        old = cur.get(iid)
        if old is None or (old[0], None if old[1] is None else round(old[1], 6), old[2]) != new:
            upd.append({"iid": iid, "ac": new[0], "acc": new[1], "ab": new[2]})
    if upd:
        conn.execute(
            incidents.update()
            .where(incidents.c.id == bindparam("iid"))
            .values(
                actor=bindparam("ac"),
                actor_confidence=bindparam("acc"),
                actor_basis=bindparam("ab"),
            ),
            upd,
        )
    return len(upd)


def dispute_silent(conn: Connection, ids: Sequence[int] | None = None) -> int:
    """Move fire incidents (``ids``, or all in a coverage window) resting on one source
    group that a detecting sensor must have seen (its declared view held the incident's
    whole time window and location uncertainty) but whose independence group did not
    report, to ``disputed``. A corroborated incident (two or more independent groups)
    is not overturned by one silent sensor: that weighing is the analyst's."""
    lo, hi = conn.execute(select(func.min(incidents.c.t), func.max(incidents.c.t))).one()
    if lo is None:
        return 0
    kinds = conn.execute(select(sources.c.id, sources.c.type, sources.c.independence_group)).all()
    types = {str(k[0]): str(k[1]) for k in kinds}
    group_of = {str(k[0]): str(k[2]) for k in kinds}
    recs = [
        r
        for r in coverage_records(conn, int(lo), int(hi) + 1)
        if types.get(r.source_id) in _DETECTORS
    ]
    if not any(r.kind == "observed" for r in recs):
        return 0
    c = incidents.c
    q = select(c.id, c.t, c.lon, c.lat, c.status, c.t_start, c.t_end, c.radius_m).where(
        c.status == IncidentStatus.REPORTED.value,
        c.merged_into.is_(None),
        c.kind.in_(_DETECTABLE),
    )
    rows: list[Any] = []
    if ids is None:
        for r in recs:
            if r.kind == "observed":
                rows += conn.execute(q.where(c.t >= r.t_start, c.t < r.t_end)).all()
        rows = list({r[0]: r for r in rows}.values())
    else:
        rows = [r for ch in _chunks(ids) for r in conn.execute(q.where(c.id.in_(ch)))]
    if not rows:
        return 0
    iid = [int(r[0]) for r in rows]
    pos = {v: k for k, v in enumerate(iid)}
    mem = [
        m
        for ch in _chunks(iid)
        for m in conn.execute(
            select(incident_observations.c.incident_id, observations.c.source_id)
            .join(observations, observations.c.id == incident_observations.c.observation_id)
            .where(incident_observations.c.incident_id.in_(ch))
        )
    ]
    silent = silent_sensors(
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[5] for r in rows],  # the incident's whole window: earliest report to latest
        [pos[int(m[0])] for m in mem],
        [m[1] for m in mem],
        recs,
        t_end=[r[6] for r in rows],
        radius_m=[r[7] for r in rows],
        group_of=group_of,
    )
    moved = 0
    for r, quiet in zip(rows, silent, strict=True):
        if quiet:
            why = f"coverage of {', '.join(quiet)} held the place and time; it reported nothing"
            record_transitions(
                conn, [(int(r[0]), r[4], IncidentStatus.DISPUTED.value)], actor="fusion", reason=why
            )
            moved += 1
    return moved


def update_verification(ws: Workspace) -> VerificationUpdate:
    """Attribution, silent-sensor disputes and sides over the whole store (idempotent)."""
    with writing(ws.engine, "updating verification") as conn:
        log.lock(conn)  # statuses as the last writer left them (PostgreSQL)
        attributed = attribute_incidents(conn)
        disputed = dispute_silent(conn)
    return VerificationUpdate(attributed, disputed, update_sides(ws))
