"""What each reader may see of incidents: tiers, published statuses, coarsening.

Three tiers. ``restricted`` (the analyst) sees every incident with every field.
``partner`` (a party liaison, a guarantor) and ``public`` see only published
incidents (``corroborated`` or ``verified``: independent sources agree, or an
analyst or technical means confirmed it), always fused, never an observation
or an observer's position. The public never sees an incident's attributed
party (a party is named to the public only on a finding an analyst confirmed)
and sees a weapon's position only coarsened to a grid of ``COARSE_DEG``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np

from truceline.domain.errors import InputError, NotFound
from truceline.domain.vocab import FindingStatus, IncidentStatus, ObservationKind
from truceline.service.findings import FindingRow, get_finding, list_findings
from truceline.service.ledger import prove
from truceline.service.users import Role
from truceline.service.workspace import Workspace
from truceline.store.db import store_errors
from truceline.store.incident_pages import IncidentFilter, count_incidents, incident_columns

__all__ = [
    "COARSE_DEG",
    "PUBLISHED",
    "IncidentPage",
    "IncidentQuery",
    "Tier",
    "incident_feature",
    "incident_page",
    "ledger_proof",
    "tier_of",
    "visible_finding",
    "visible_findings",
]

PUBLISHED = (IncidentStatus.CORROBORATED.value, IncidentStatus.VERIFIED.value)
COARSE_DEG = 0.05  # about 5 km
_COARSE_RADIUS_M = 5_000.0
_COARSE_KINDS = frozenset({ObservationKind.WEAPON_SIGHTING.value})
_HIDDEN = {
    "restricted": frozenset(),
    "partner": frozenset(),
    "public": frozenset({"actor", "actor_confidence", "side"}),
}


class Tier(StrEnum):
    RESTRICTED = "restricted"
    PARTNER = "partner"
    PUBLIC = "public"


def tier_of(role: Role) -> Tier:
    if role is Role.ANALYST:
        return Tier.RESTRICTED
    if role in (Role.PARTY, Role.GUARANTOR):
        return Tier.PARTNER
    return Tier.PUBLIC


@dataclass(frozen=True, slots=True)
class IncidentQuery:
    statuses: Sequence[str] | None = None
    kinds: Sequence[str] | None = None
    sectors: Sequence[str] | None = None
    since: int | None = None
    until: int | None = None
    bbox: tuple[float, float, float, float] | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class IncidentPage:
    """GeoJSON features of one page, and how many match in all."""

    features: list[dict[str, Any]]
    matched: int
    limit: int
    offset: int


def _check(q: IncidentQuery) -> None:
    known = {s.value for s in IncidentStatus}
    for s in q.statuses or ():
        if s not in known:
            raise InputError(f"status {s!r} is not one of {sorted(known)}")
    if q.bbox is not None:
        x0, y0, x1, y1 = q.bbox
        if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            raise InputError("bbox: minlon,minlat,maxlon,maxlat within -180..180, -90..90")
    if q.limit < 1 or q.offset < 0:
        raise InputError("limit must be >= 1 and offset >= 0")


def _filter(q: IncidentQuery, tier: Tier) -> IncidentFilter:
    statuses = q.statuses
    if tier is not Tier.RESTRICTED:
        statuses = [s for s in (statuses or PUBLISHED) if s in PUBLISHED]
    return IncidentFilter(statuses, q.kinds, q.sectors, q.since, q.until, q.bbox)


def _coarsen(cols: dict[str, list[Any]]) -> None:
    kinds = np.array(cols["kind"], dtype=object)
    mask = np.isin(kinds, list(_COARSE_KINDS))
    if not mask.any():
        return
    for name in ("lon", "lat"):
        v = np.array(cols[name], dtype=float)
        v[mask] = np.round(v[mask] / COARSE_DEG) * COARSE_DEG
        cols[name] = v.round(6).tolist()
    r = np.array(cols["radius_m"], dtype=float)
    r[mask] = np.maximum(r[mask], _COARSE_RADIUS_M)
    cols["radius_m"] = r.tolist()
    cols["ellipse"] = [None if m else e for m, e in zip(mask, cols["ellipse"], strict=True)]


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _features(cols: dict[str, list[Any]], tier: Tier) -> list[dict[str, Any]]:
    if tier is Tier.PUBLIC:
        _coarsen(cols)
    names = [n for n in cols if n not in ("id", "lon", "lat") and n not in _HIDDEN[tier.value]]
    out: list[dict[str, Any]] = []
    for i, (fid, lon, lat) in enumerate(zip(cols["id"], cols["lon"], cols["lat"], strict=True)):
        props = {n: cols[n][i] for n in names}
        for n in ("ellipse", "side"):
            if isinstance(props.get(n), str):
                props[n] = json.loads(props[n])
        props["time"] = _iso(props["t"])
        out.append(
            {
                "type": "Feature",
                "id": fid,
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": props,
            }
        )
    return out


def incident_page(ws: Workspace, q: IncidentQuery, tier: Tier) -> IncidentPage:
    """One page of incidents as the tier may see them, newest first."""
    _check(q)
    f = _filter(q, tier)
    if f.statuses is not None and not f.statuses:
        return IncidentPage([], 0, q.limit, q.offset)
    with store_errors("reading incidents"), ws.engine.connect() as conn:
        cols = incident_columns(conn, f, q.limit, q.offset)
        matched = count_incidents(conn, f)
    return IncidentPage(_features(cols, tier), matched, q.limit, q.offset)


def incident_feature(ws: Workspace, incident_id: int, tier: Tier) -> dict[str, Any]:
    """One incident as the tier may see it; ``NotFound`` when it may not see it at all."""
    f = _filter(IncidentQuery(), tier)
    f = IncidentFilter(f.statuses, ids=[incident_id])
    with store_errors("reading an incident"), ws.engine.connect() as conn:
        cols = incident_columns(conn, f, 1, 0)
    if not cols["id"]:
        raise NotFound(f"no incident {incident_id}")
    return _features(cols, tier)[0]


def visible_findings(
    ws: Workspace,
    tier: Tier,
    *,
    status: str | None = None,
    party: str | None = None,
    limit: int = 1000,
) -> list[FindingRow]:
    """Findings the tier may see: the analyst all; partners all but dismissed; the public
    only those an analyst confirmed, their places coarsened."""
    rows = list_findings(ws, status=status, party=party)
    if tier is Tier.PARTNER:
        rows = [r for r in rows if r.status != FindingStatus.DISMISSED]
    elif tier is Tier.PUBLIC:
        rows = [_coarse_finding(r) for r in rows if r.status == FindingStatus.CONFIRMED]
    return rows[:limit]


def visible_finding(ws: Workspace, finding_id: int, tier: Tier) -> FindingRow:
    """One finding as the tier may see it; ``NotFound`` when it may not see it."""
    row = get_finding(ws, finding_id)
    hidden = (tier is Tier.PARTNER and row.status == FindingStatus.DISMISSED) or (
        tier is Tier.PUBLIC and row.status != FindingStatus.CONFIRMED
    )
    if hidden:
        raise NotFound(f"no finding {finding_id}")
    return _coarse_finding(row) if tier is Tier.PUBLIC else row


def _coarse_finding(r: FindingRow) -> FindingRow:
    def grid(v: float | None) -> float | None:
        return None if v is None else round(round(v / COARSE_DEG) * COARSE_DEG, 6)

    return replace(r, lon=grid(r.lon), lat=grid(r.lat))


def ledger_proof(ws: Workspace, index: int, size: int | None, tier: Tier) -> dict[str, Any]:
    """An inclusion proof; only the analyst's carries the entry's data (an observation's
    data would show its source and its observer's position)."""
    proof = prove(ws, index, size)
    if tier is not Tier.RESTRICTED:
        proof = {k: v for k, v in proof.items() if k not in ("data", "ref")}
    return proof
