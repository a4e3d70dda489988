"""OGC API - Features (Part 1: Core, GeoJSON) over the open data collections.

Landing page, conformance, collections, one collection, its items (``bbox``,
``datetime``, ``limit``, ``offset``, with ``next`` links) and one item; always
the public tier, whoever calls. ``f=json`` is accepted (GIS clients send it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from truceline.api.auth import ANYONE, allow, workspace
from truceline.api.routes.incidents import geojson_response, parse_bbox
from truceline.domain.errors import InputError
from truceline.service.opendata import COLLECTIONS, Collection, collection, item, items
from truceline.service.workspace import Workspace

__all__ = ["CONFORMANCE", "parse_interval", "router"]

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"], dependencies=[allow(*ANYONE)])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
_CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_JSON = "application/json"
_GEOJSON = "application/geo+json"
_F = Query(None, description="output format: json (the only one)", pattern="^(json|geojson)$")


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, allow_nan=False), media_type=_JSON)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _time(text: str) -> int | None:
    if text in ("", ".."):
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"datetime: {text!r} is not RFC 3339") from None
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())


def parse_interval(text: str | None) -> tuple[int | None, int | None]:
    """OGC ``datetime``: an instant or ``start/end`` (either ``..``); as [since, until)."""
    if text is None:
        return None, None
    parts = text.split("/")
    if len(parts) == 1:
        t = _time(parts[0])
        if t is None:
            raise InputError("datetime: an instant cannot be open ('..')")
        return t, t + 1
    if len(parts) != 2:
        raise InputError(f"datetime: {text!r} is neither an instant nor start/end")
    start, end = _time(parts[0]), _time(parts[1])
    if start is not None and end is not None and end < start:
        raise InputError("datetime: the end is before the start")
    return start, None if end is None else end + 1


def _iso(t: int | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _collection_doc(c: Collection, base: str) -> dict[str, Any]:
    url = f"{base}/collections/{c.id}"
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [_CRS84],
        "extent": {
            "spatial": {"bbox": [list(c.bbox)], "crs": _CRS84},
            "temporal": {"interval": [[_iso(c.interval[0]), _iso(c.interval[1])]]},
        },
        "links": [
            {"href": url, "rel": "self", "type": _JSON, "title": c.title},
            {"href": f"{url}/items", "rel": "items", "type": _GEOJSON, "title": "Items"},
        ],
    }


@router.get("", response_class=Response)
def landing(request: Request, f: str | None = _F) -> Response:
    """The landing page: what this service offers and where."""
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return _json(
        {
            "title": "truceline open data",
            "description": "Published incidents, agreement zones and reporting sectors",
            "links": [
                {"href": base, "rel": "self", "type": _JSON, "title": "This document"},
                {
                    "href": f"{root}/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "The API definition",
                },
                {"href": f"{root}/docs", "rel": "service-doc", "type": "text/html"},
                {"href": f"{base}/conformance", "rel": "conformance", "type": _JSON},
                {"href": f"{base}/collections", "rel": "data", "type": _JSON},
            ],
        }
    )


@router.get("/conformance", response_class=Response)
def conformance(f: str | None = _F) -> Response:
    """The conformance classes implemented."""
    return _json({"conformsTo": CONFORMANCE})


@router.get("/collections", response_class=Response)
def collections(
    request: Request, ws: Workspace = Depends(workspace), f: str | None = _F
) -> Response:
    """Every collection, with its extent."""
    base = _base(request)
    docs = [_collection_doc(collection(ws, cid), base) for cid in COLLECTIONS]
    links = [{"href": f"{base}/collections", "rel": "self", "type": _JSON}]
    return _json({"links": links, "collections": docs})


@router.get("/collections/{collection_id}", response_class=Response)
def one_collection(
    request: Request,
    collection_id: str = Path(max_length=40),
    ws: Workspace = Depends(workspace),
    f: str | None = _F,
) -> Response:
    """One collection."""
    return _json(_collection_doc(collection(ws, collection_id), _base(request)))


@router.get("/collections/{collection_id}/items", response_class=Response)
def collection_items(
    request: Request,
    collection_id: str = Path(max_length=40),
    ws: Workspace = Depends(workspace),
    bbox: str | None = Query(None, description="minlon,minlat,maxlon,maxlat (CRS84)"),
    dt: str | None = Query(None, alias="datetime", description="instant or start/end"),
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=10_000_000),
    f: str | None = _F,
) -> Response:
    """Features of a collection, a page at a time (``next`` links to the following page)."""
    since, until = parse_interval(dt)
    page = items(
        ws, collection_id, bbox=parse_bbox(bbox), since=since, until=until, limit=limit,
        offset=offset,
    )  # fmt: skip
    url = f"{_base(request)}/collections/{collection_id}/items"
    params = {k: v for k, v in (("bbox", bbox), ("datetime", dt)) if v is not None}

    def at(start: int) -> str:
        return f"{url}?{urlencode({'limit': limit, 'offset': start, **params})}"

    links = [
        {"href": at(offset), "rel": "self", "type": _GEOJSON},
        {"href": url.rsplit("/items", 1)[0], "rel": "collection", "type": _JSON},
    ]
    if offset + len(page.features) < page.matched:
        links.append({"href": at(offset + limit), "rel": "next", "type": _GEOJSON})
    body = {
        "type": "FeatureCollection",
        "timeStamp": _iso(int(datetime.now(UTC).timestamp())),
        "numberMatched": page.matched,
        "numberReturned": len(page.features),
        "links": links,
        "features": page.features,
    }
    return geojson_response(body)


@router.get("/collections/{collection_id}/items/{feature_id}", response_class=Response)
def collection_item(
    request: Request,
    collection_id: str = Path(max_length=40),
    feature_id: str = Path(max_length=100),
    ws: Workspace = Depends(workspace),
    f: str | None = _F,
) -> Response:
    """One feature."""
    feature = dict(item(ws, collection_id, feature_id))
    url = f"{_base(request)}/collections/{collection_id}"
    feature["links"] = [
        {"href": f"{url}/items/{feature_id}", "rel": "self", "type": _GEOJSON},
        {"href": url, "rel": "collection", "type": _JSON},
    ]
    return geojson_response(feature)
