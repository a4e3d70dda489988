"""Incidents: pages as GeoJSON, one incident, and an analyst's status changes.

What a caller sees depends on its tier (``service.publication``): the analyst
everything; a liaison, a guarantor, a monitor and the public only published,
fused incidents, the public without attribution and with weapons coarsened.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from truceline.api.auth import allow, workspace
from truceline.domain.errors import InputError
from truceline.service.incidents import change_status, show_incident
from truceline.service.publication import (
    IncidentPage,
    IncidentPageText,
    IncidentQuery,
    Tier,
    incident_feature,
    incident_page,
    incident_page_text,
    tier_of,
)
from truceline.service.users import Role, User
from truceline.service.workspace import Workspace

__all__ = ["GEOJSON", "epoch", "geojson_response", "parse_bbox", "router"]

router = APIRouter(tags=["incidents"])

GEOJSON = "application/geo+json"
_READERS = (Role.ANALYST, Role.PARTY, Role.GUARANTOR, Role.MONITOR, Role.PUBLIC)
_FC = {"content": {GEOJSON: {"schema": {"type": "object"}}}, "description": "GeoJSON"}


def epoch(value: datetime | None) -> int | None:
    """Epoch seconds of a query time (a time without an offset is UTC)."""
    if value is None:
        return None
    return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` (OGC's order), or an ``InputError`` saying why not."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"bbox: {text!r} is not four numbers") from None
    if len(values) != 4:
        raise InputError(f"bbox: expected minlon,minlat,maxlon,maxlat, got {len(values)} numbers")
    return values[0], values[1], values[2], values[3]


def geojson_response(body: dict[str, Any]) -> Response:
    """GeoJSON serialised once, without model validation (a page may hold 10,000 features)."""
    return Response(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), media_type=GEOJSON)


def _collection_text(page: IncidentPageText) -> Response:
    """The FeatureCollection around features the database wrote as JSON, joined as bytes."""
    head = orjson.dumps(
        {
            "type": "FeatureCollection",
            "numberMatched": page.matched,
            "numberReturned": len(page.features),
            "offset": page.offset,
            "limit": page.limit,
        }
    )
    body = b"".join((head[:-1], b',"features":[', ",".join(page.features).encode(), b"]}"))
    return Response(body, media_type=GEOJSON)


def _collection(page: IncidentPage) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "numberMatched": page.matched,
        "numberReturned": len(page.features),
        "offset": page.offset,
        "limit": page.limit,
        "features": page.features,
    }


@router.get("/incidents", responses={200: _FC}, response_class=Response)
def list_incidents(
    request: Request,
    user: User = allow(*_READERS),
    ws: Workspace = Depends(workspace),
    status: list[str] | None = Query(None, description="repeat for several"),
    kind: list[str] | None = Query(None),
    sector: list[str] | None = Query(None),
    since: datetime | None = Query(None, description="fused time >= this (ISO 8601 or epoch)"),
    until: datetime | None = Query(None, description="fused time < this"),
    bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat"),
    limit: int = Query(100, ge=1),
    offset: int = Query(0, ge=0, le=10_000_000),
) -> Response:
    """Incidents, newest first, as a GeoJSON FeatureCollection."""
    most = request.app.state.limits.max_page
    if limit > most:
        raise InputError(f"limit: at most {most}")
    q = IncidentQuery(
        status, kind, sector, epoch(since), epoch(until), parse_bbox(bbox), limit, offset
    )
    tier = tier_of(user.role)
    text = incident_page_text(ws, q, tier)
    if text is not None:
        return _collection_text(text)
    return geojson_response(_collection(incident_page(ws, q, tier)))


@router.get("/incidents/{incident_id}", responses={200: _FC}, response_class=Response)
def get_incident(
    incident_id: int = Path(ge=0, le=2**62),
    user: User = allow(*_READERS),
    ws: Workspace = Depends(workspace),
) -> Response:
    """One incident as a GeoJSON Feature; the analyst's carries its observations and history."""
    tier = tier_of(user.role)
    feature = incident_feature(ws, incident_id, tier)
    if tier is Tier.RESTRICTED:
        detail = show_incident(ws, incident_id)
        feature["properties"]["observations"] = detail.observations
        feature["properties"]["history"] = [dataclasses.asdict(h) for h in detail.history]
    return geojson_response(feature)


class StatusIn(BaseModel):
    action: Literal["verify", "reject", "dispute", "reopen"]
    reason: str = Field(min_length=1, max_length=5_000)


class StatusOut(BaseModel):
    incident_id: int
    from_status: str | None
    to_status: str
    actor: str
    at: int
    reason: str
    ledger_index: int | None


@router.post("/incidents/{incident_id}/status")
def set_status(
    body: StatusIn,
    incident_id: int = Path(ge=0, le=2**62),
    user: User = allow(Role.ANALYST),
    ws: Workspace = Depends(workspace),
) -> StatusOut:
    """Verify, reject, dispute or reopen an incident (recorded with who, when, why)."""
    c = change_status(ws, incident_id, body.action, reason=body.reason, actor=user.actor)
    return StatusOut(
        incident_id=c.incident_id,
        from_status=c.from_status,
        to_status=c.to_status,
        actor=c.actor,
        at=c.at,
        reason=c.reason,
        ledger_index=c.ledger_index,
    )
