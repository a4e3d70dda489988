"""Incidents, findings and ledger proofs as each reader's tier may see them.

The tier follows the role (:func:`tier_of`); what a tier sees is decided by the rules
of ``report.editions`` (the same functions the reports and the exports apply): the
analyst everything; a party liaison and a guarantor published incidents, fused, and
every finding; the public what the public edition of reports shows.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from truceline.domain.errors import InputError, NotFound
from truceline.domain.vocab import FindingStatus, IncidentStatus
from truceline.report.editions import (
    COARSE_DEG,
    PUBLISHED,
    extent_view,
    finding_view,
    incident_view,
    public_places,
    visible_statuses,
)
from truceline.service.findings import FindingRow, get_finding, list_findings
from truceline.service.ledger import prove
from truceline.service.users import Role
from truceline.service.workspace import Workspace
from truceline.store.db import reading
from truceline.store.incident_pages import (
    IncidentFilter,
    count_incidents,
    incident_columns,
    incident_extent,
    incident_feature_texts,
)
from truceline.store.reports import source_ids

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
    shown = visible_statuses(tier.value)
    if shown is not None:
        statuses = [s for s in (statuses or shown) if s in shown]
    return IncidentFilter(statuses, q.kinds, q.sectors, q.since, q.until, q.bbox)


def _feature(fid: Any, lon: Any, lat: Any, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": fid,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def _features(cols: dict[str, list[Any]], tier: Tier) -> list[dict[str, Any]]:
    """GeoJSON features of the page's columns, each incident as the tier sees it
    (``report.editions.incident_view``): the JSON columns decoded and the times written
    column by column, then one dict per feature."""
    seen = {
        n: [None if v is None else json.loads(v) for v in col] if n in ("ellipse", "side") else col
        for n, col in cols.items()
    }
    iso = np.datetime_as_string(np.asarray(cols["t"], dtype="datetime64[s]"), unit="s")
    times = np.char.add(iso, "Z").tolist()
    names = list(seen)
    places: Sequence[dict[str, Any] | None] = (
        public_places(cols["lon"], cols["lat"]) if tier is Tier.PUBLIC else [None] * len(times)
    )
    out = []
    for values, t, place in zip(zip(*seen.values(), strict=True), times, places, strict=True):
        props = incident_view(dict(zip(names, values, strict=True)), tier.value, place)
        if props is None:
            continue
        fid, lon, lat = props.pop("id"), props.pop("lon"), props.pop("lat")
        props["time"] = t
        out.append(_feature(fid, lon, lat, props))
    return out


def incident_page(ws: Workspace, q: IncidentQuery, tier: Tier) -> IncidentPage:
    """One page of incidents as the tier may see them, newest first."""
    _check(q)
    f = _filter(q, tier)
    if f.statuses is not None and not f.statuses:
        return IncidentPage([], 0, q.limit, q.offset)
    with reading(ws.engine, "reading incidents") as conn:
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
    ``None`` for the public tier, which sees fields coarsened or left out, so only
    :func:`incident_page` serves it (every other tier sees a visible incident whole)."""
    if tier is Tier.PUBLIC:
        return None
    _check(q)
    f = _filter(q, tier)
    if f.statuses is not None and not f.statuses:
        return IncidentPageText([], 0, q.limit, q.offset)
    with reading(ws.engine, "reading incidents") as conn:
        texts = incident_feature_texts(conn, f, q.limit, q.offset)
        matched = count_incidents(conn, f)
    return IncidentPageText(texts, matched, q.limit, q.offset)


def published_extent(
    ws: Workspace, tier: Tier
) -> tuple[float, float, float, float, int, int] | None:
    """Bounding box and time span of the incidents the tier may see (None: none)."""
    with reading(ws.engine, "reading the incidents' extent") as conn:
        ext = incident_extent(conn, _filter(IncidentQuery(), tier))
    return extent_view(ext, tier.value)


def incident_feature(ws: Workspace, incident_id: int, tier: Tier) -> dict[str, Any]:
    """One incident as the tier may see it; ``NotFound`` when it may not see it at all."""
    f = _filter(IncidentQuery(), tier)
    f = IncidentFilter(f.statuses, ids=[incident_id])
    with reading(ws.engine, "reading an incident") as conn:
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
    """Findings the tier may see, as ``report.editions.finding_view`` shows them (the
    public: a party named only once an analyst confirmed the finding, so a filter by
    party finds only confirmed ones)."""
    if tier is Tier.PUBLIC and party is not None:
        status = FindingStatus.CONFIRMED if status in (None, FindingStatus.CONFIRMED) else "-"
    rows = list_findings(ws, status=status, party=party)
    ids = _source_ids(ws, rows, tier)
    shown = [v for r in rows if (v := _finding_view(r, tier, ids)) is not None]
    return shown[:limit]


def visible_finding(ws: Workspace, finding_id: int, tier: Tier) -> FindingRow:
    """One finding as the tier may see it; ``NotFound`` when it may not see it."""
    row = get_finding(ws, finding_id)
    shown = _finding_view(row, tier, _source_ids(ws, [row], tier))
    if shown is None:
        raise NotFound(f"no finding {finding_id}")
    return shown


_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(FindingRow))


def _source_ids(ws: Workspace, rows: Sequence[FindingRow], tier: Tier) -> frozenset[str]:
    """Every source's id, where a partner is to read reviews' reasons without them."""
    if tier is not Tier.PARTNER or not any(r.changes for r in rows):
        return frozenset()
    with reading(ws.engine, "reading source ids") as conn:
        return frozenset(source_ids(conn))


def _finding_view(r: FindingRow, tier: Tier, ids: frozenset[str]) -> FindingRow | None:
    row = {n: getattr(r, n) for n in _ROW_FIELDS}
    view = finding_view(row, tier.value, ids)
    if view is None:
        return None
    view["summary"] = view["summary"] or ""
    return FindingRow(**{n: view[n] for n in _ROW_FIELDS})


def ledger_proof(ws: Workspace, index: int, size: int | None, tier: Tier) -> dict[str, Any]:
    """An inclusion proof; only the analyst's carries the entry's data (an observation's
    data would show its source and its observer's position)."""
    proof = prove(ws, index, size)
    if tier is not Tier.RESTRICTED:
        proof = {k: v for k, v in proof.items() if k not in ("data", "ref")}
    return proof
