"""What each reader may see of incidents and findings: tiers, published statuses.

Three tiers. ``restricted`` (the analyst) sees every incident with every field.
``partner`` (a party liaison, a guarantor) and ``public`` see only published
incidents (``corroborated`` or ``verified``: independent sources agree, or an
analyst or technical means confirmed it), always fused, never an observation
or an observer's position. The public sees what the public edition of reports
shows (``report.editions``): no incident's attributed party, a party named only
on findings an analyst confirmed, weapons and movements on a 0.1 degree grid,
other positions to 0.01 degree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np

from truceline.domain.errors import InputError, NotFound
from truceline.domain.vocab import FindingStatus, IncidentStatus
from truceline.report.editions import public_finding, public_incident, public_places
from truceline.service.findings import FindingRow, get_finding, list_findings
from truceline.service.ledger import prove
from truceline.service.users import Role
from truceline.service.workspace import Workspace
from truceline.store.db import store_errors
from truceline.store.incident_pages import (
    IncidentFilter,
    count_incidents,
    incident_columns,
    incident_extent,
    incident_feature_texts,
)

__all__ = [
    "COARSE_DEG",
    "PUBLISHED",
    "IncidentPage",
    "IncidentPageText",
    "IncidentQuery",
    "Tier",
    "incident_feature",
    "incident_page",
    "incident_page_text",
    "ledger_proof",
    "published_extent",
    "tier_of",
    "visible_finding",
    "visible_findings",
]

PUBLISHED = (IncidentStatus.CORROBORATED.value, IncidentStatus.VERIFIED.value)
COARSE_DEG = 0.1  # the public edition's grid for weapons (report.editions)
_HIDDEN = {
    "restricted": frozenset(),
    "partner": frozenset(),
    "public": frozenset({"actor", "actor_confidence", "actor_basis", "side"}),
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


def _feature(fid: Any, lon: Any, lat: Any, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": fid,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def _features(cols: dict[str, list[Any]], tier: Tier) -> list[dict[str, Any]]:
    """GeoJSON features of the page's columns: the JSON columns decoded and the times
    written column by column, then one dict per feature."""
    hidden = _HIDDEN[tier.value]
    seen = {
        n: [None if v is None else json.loads(v) for v in col] if n in ("ellipse", "side") else col
        for n, col in cols.items()
        if n not in hidden
    }
    iso = np.datetime_as_string(np.asarray(cols["t"], dtype="datetime64[s]"), unit="s")
    times = np.char.add(iso, "Z").tolist()
    if tier is Tier.PUBLIC:
        names = list(seen)
        places = public_places(cols["lon"], cols["lat"])
        out = []
        for values, t, place in zip(zip(*seen.values(), strict=True), times, places, strict=True):
            props = public_incident(dict(zip(names, values, strict=True)), place)
            fid, lon, lat = props.pop("id"), props.pop("lon"), props.pop("lat")
            props["time"] = t
            out.append(_feature(fid, lon, lat, props))
        return out
    keys = [n for n in seen if n not in ("id", "lon", "lat")]
    rows = zip(*(seen[n] for n in keys), times, strict=True)
    keys.append("time")
    return [
        _feature(fid, lon, lat, dict(zip(keys, values, strict=True)))
        for fid, lon, lat, values in zip(seen["id"], seen["lon"], seen["lat"], rows, strict=True)
    ]


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


@dataclass(frozen=True, slots=True)
class IncidentPageText:
    """One page's GeoJSON features as JSON texts (as the database wrote them)."""

    features: list[str]
    matched: int
    limit: int
    offset: int


def incident_page_text(ws: Workspace, q: IncidentQuery, tier: Tier) -> IncidentPageText | None:
    """One page of incidents as :func:`incident_page` gives it, its features written as
    JSON by the database (a map's page of 10,000 costs no Python object per feature);
    ``None`` for a tier that sees fields coarsened or hidden (the public), which only
    :func:`incident_page` serves."""
    if _HIDDEN[tier.value]:
        return None
    _check(q)
    f = _filter(q, tier)
    if f.statuses is not None and not f.statuses:
        return IncidentPageText([], 0, q.limit, q.offset)
    with store_errors("reading incidents"), ws.engine.connect() as conn:
        texts = incident_feature_texts(conn, f, q.limit, q.offset)
        matched = count_incidents(conn, f)
    return IncidentPageText(texts, matched, q.limit, q.offset)


def published_extent(
    ws: Workspace, tier: Tier
) -> tuple[float, float, float, float, int, int] | None:
    """Bounding box and time span of the incidents the tier may see (None: none)."""
    with store_errors("reading the incidents' extent"), ws.engine.connect() as conn:
        ext = incident_extent(conn, _filter(IncidentQuery(), tier))
    if ext is None or tier is not Tier.PUBLIC:
        return ext
    x0, y0, x1, y1, t0, t1 = ext  # outward to the coarse grid: no position shows through it

    def down(v: float) -> float:
        return round(math.floor(v / COARSE_DEG) * COARSE_DEG, 6)

    def up(v: float) -> float:
        return round(math.ceil(v / COARSE_DEG) * COARSE_DEG, 6)

    return down(x0), down(y0), up(x1), up(y1), t0, t1


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
    """Findings the tier may see: the analyst and partners all; the public as the public
    edition shows them (a party named only once an analyst confirmed the finding)."""
    if tier is Tier.PUBLIC and party is not None:
        status = FindingStatus.CONFIRMED if status in (None, FindingStatus.CONFIRMED) else "-"
    rows = list_findings(ws, status=status, party=party)
    if tier is Tier.PUBLIC:
        rows = [p for r in rows if (p := _public_finding(r)) is not None]
    return rows[:limit]


def visible_finding(ws: Workspace, finding_id: int, tier: Tier) -> FindingRow:
    """One finding as the tier may see it; ``NotFound`` when it may not see it."""
    row = get_finding(ws, finding_id)
    if tier is not Tier.PUBLIC:
        return row
    shown = _public_finding(row)
    if shown is None:
        raise NotFound(f"no finding {finding_id}")
    return shown


def _public_finding(r: FindingRow) -> FindingRow | None:
    view = public_finding({"severity": r.severity, "status": r.status, "party": r.party,
                           "party_basis": r.party_basis, "summary": r.summary, "lon": r.lon,
                           "lat": r.lat})  # fmt: skip
    if view is None:
        return None
    return replace(r, party=view["party"], party_basis=view["party_basis"], lon=view["lon"],
                   lat=view["lat"], summary=view["summary"] or "")  # fmt: skip


def ledger_proof(ws: Workspace, index: int, size: int | None, tier: Tier) -> dict[str, Any]:
    """An inclusion proof; only the analyst's carries the entry's data (an observation's
    data would show its source and its observer's position)."""
    proof = prove(ws, index, size)
    if tier is not Tier.RESTRICTED:
        proof = {k: v for k, v in proof.items() if k not in ("data", "ref")}
    return proof
