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

import numpy as np

from truceline.domain.vocab import IncidentStatus, ObservationKind, SourceType
from truceline.fusion.coverage import silent_sensors
from truceline.fusion.grading import attribute
from truceline.service.coverage import coverage_records
from truceline.service.incidents import record_transitions, update_sides
from truceline.service.sources import reliability_at
from truceline.service.workspace import Workspace
from truceline.store import incidents as store
from truceline.store import ledger as log
from truceline.store import sources as store_sources
from truceline.store.db import Connection, writing

__all__ = ["VerificationUpdate", "attribute_incidents", "dispute_silent", "update_verification"]

_DETECTORS = {SourceType.CAMERA.value, SourceType.ACOUSTIC.value, SourceType.UAV.value}
#: kinds a camera or acoustic array declaring a view cannot miss (small-arms fire it can)
_DETECTABLE = (ObservationKind.EXPLOSION.value, ObservationKind.PROJECTILE.value)
#: above this many incidents, attribution reads every member naming an actor at once
_SCAN_ABOVE = 20_000


@dataclass(frozen=True, slots=True)
class VerificationUpdate:
    attributed: int  # incidents whose actor, confidence or basis changed
    disputed: int  # incidents moved to disputed by a silent sensor
    sides: int  # incidents given a side of the line


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
    skip = ObservationKind.DENIAL.value
    if ids is not None and len(ids) > _SCAN_ABOVE:  # one scan beats many IN lists
        wanted = set(ids)
        rows = [r for r in store.attribution_rows(conn, None, skip_kind=skip) if r[0] in wanted]
    else:
        rows = store.attribution_rows(conn, ids, skip_kind=skip)
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
    cur = store.actors(conn, inc.tolist())
    upd = []
    for k, iid in enumerate(inc.tolist()):
        conf = float(a.confidence[k])
        new = (a.actor[k], None if np.isnan(conf) else round(conf, 6), a.basis[k])
        old = cur.get(iid)
        if old is None or (old[0], None if old[1] is None else round(old[1], 6), old[2]) != new:
            upd.append((iid, new[0], new[1], new[2]))
    store.set_actors(conn, upd)
    fields = ("actor", "actor_confidence", "actor_basis")
    items = [
        (str(u[0]), {"incident_id": u[0], **dict(zip(fields, u[1:], strict=True))}) for u in upd
    ]
    log.append(conn, "incident_attribution", items)  # who is named is a disputed fact
    return len(upd)


def dispute_silent(conn: Connection, ids: Sequence[int] | None = None) -> int:
    """Move fire incidents (``ids``, or all in a coverage window) resting on one source
    group that a detecting sensor must have seen (its declared view held the incident's
    whole time window and location uncertainty) but whose independence group did not
    report, to ``disputed``. A corroborated incident (two or more independent groups)
    is not overturned by one silent sensor: that weighing is the analyst's."""
    lo, hi = store.t_range(conn)
    if lo is None or hi is None:
        return 0
    kinds = store_sources.groups_and_types(conn)
    types = {k[0]: k[1] for k in kinds}
    group_of = {k[0]: k[2] for k in kinds}
    recs = [
        r
        for r in coverage_records(conn, int(lo), int(hi) + 1)
        if types.get(r.source_id) in _DETECTORS
    ]
    if not any(r.kind == "observed" for r in recs):
        return 0
    windows = [(r.t_start, r.t_end) for r in recs if r.kind == "observed"]
    rows = store.open_incidents(
        conn, status=IncidentStatus.REPORTED.value, kinds=_DETECTABLE, ids=ids, windows=windows
    )
    if not rows:
        return 0
    iid = [int(r[0]) for r in rows]
    pos = {v: k for k, v in enumerate(iid)}
    mem = store.member_sources(conn, iid)
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
