"""Open data: the feature collections anyone may read (OGC API - Features serves them).

``incidents``: published incidents as the public sees them (service.publication);
``zones``: the agreement's zones (lines, buffer, withdrawal bands, exclusion
zones: the public text of the agreement); ``sectors``: its reporting sectors.
The agreement is the one in force now, else the latest loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shapely.geometry import box, mapping

from truceline.compliance.agreement.model import Agreement, Zone
from truceline.domain.errors import NotFound
from truceline.report.editions import zone_published
from truceline.service.agreements import find_agreement
from truceline.service.publication import (
    IncidentQuery,
    Tier,
    incident_feature,
    incident_page,
    published_extent,
)
from truceline.service.workspace import Workspace

__all__ = ["COLLECTIONS", "Collection", "ItemPage", "collection", "item", "items"]

COLLECTIONS = {
    "incidents": ("Incidents", "Published incidents (corroborated or verified), fused"),
    "zones": ("Agreement zones", "Contact line, buffer, withdrawal bands, exclusion zones"),
    "sectors": ("Reporting sectors", "The agreement's reporting sectors"),
}
_WORLD = (-180.0, -90.0, 180.0, 90.0)


@dataclass(frozen=True, slots=True)
class Collection:
    id: str
    title: str
    description: str
    bbox: tuple[float, float, float, float]
    interval: tuple[int | None, int | None]


@dataclass(frozen=True, slots=True)
class ItemPage:
    features: list[dict[str, Any]]
    matched: int


def _agreement(ws: Workspace) -> Agreement | None:
    try:
        return find_agreement(ws)
    except NotFound:
        return None


def _zones(ws: Workspace, cid: str) -> list[Zone]:
    a = _agreement(ws)
    return [] if a is None else _zones_of(a, cid)


def _zones_of(a: Agreement, cid: str) -> list[Zone]:
    return [
        z for z in a.zones if (z.kind == "sector") == (cid == "sectors") and zone_published(z.kind)
    ]


def _zone_feature(z: Zone) -> dict[str, Any]:
    props = {k: v for k, v in z.to_json().items() if k not in ("geometry", "id")}
    return {"type": "Feature", "id": z.id, "geometry": mapping(z.geometry), "properties": props}


def _known(cid: str) -> None:
    if cid not in COLLECTIONS:
        raise NotFound(f"no collection {cid!r}: there are {', '.join(COLLECTIONS)}")


def collection(ws: Workspace, cid: str) -> Collection:
    """A collection's description with its extent."""
    _known(cid)
    title, desc = COLLECTIONS[cid]
    if cid == "incidents":
        ext = published_extent(ws, Tier.PUBLIC)
        if ext is None:
            return Collection(cid, title, desc, _WORLD, (None, None))
        return Collection(cid, title, desc, ext[:4], (ext[4], ext[5]))
    a = _agreement(ws)
    zones = [] if a is None else _zones_of(a, cid)
    if a is None or not zones:
        return Collection(cid, title, desc, _WORLD, (None, None))
    bounds = [z.geometry.bounds for z in zones]
    bbox = (
        min(b[0] for b in bounds),
        min(b[1] for b in bounds),
        max(b[2] for b in bounds),
        max(b[3] for b in bounds),
    )
    return Collection(cid, title, desc, bbox, (a.valid_from, a.valid_to))


def items(
    ws: Workspace,
    cid: str,
    *,
    bbox: tuple[float, float, float, float] | None,
    since: int | None,
    until: int | None,
    limit: int,
    offset: int,
) -> ItemPage:
    """One page of a collection's features (zones and sectors ignore the time filter)."""
    _known(cid)
    if cid == "incidents":
        q = IncidentQuery(since=since, until=until, bbox=bbox, limit=limit, offset=offset)
        page = incident_page(ws, q, Tier.PUBLIC)
        return ItemPage(page.features, page.matched)
    zones = _zones(ws, cid)
    if bbox is not None:
        area = box(*bbox)
        zones = [z for z in zones if z.geometry.intersects(area)]
    return ItemPage([_zone_feature(z) for z in zones[offset : offset + limit]], len(zones))


def item(ws: Workspace, cid: str, fid: str) -> dict[str, Any]:
    """One feature of a collection, or ``NotFound``."""
    _known(cid)
    if cid == "incidents":
        if not fid.isdigit() or len(fid) > 18:
            raise NotFound(f"no incident {fid!r}")
        return incident_feature(ws, int(fid), Tier.PUBLIC)
    for z in _zones(ws, cid):
        if z.id == fid:
            return _zone_feature(z)
    raise NotFound(f"no feature {fid!r} in {cid}")
