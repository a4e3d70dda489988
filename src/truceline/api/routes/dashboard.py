"""The web dashboard: the page, its scripts and styles (Leaflet from its package, no
CDN), the agreement's zones as a map layer, and who the caller is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, HTMLResponse

from truceline.api.auth import ANYONE, allow, workspace
from truceline.domain.errors import NotFound
from truceline.service.users import User
from truceline.service.workspace import Workspace

__all__ = ["router"]

router = APIRouter(tags=["dashboard"])


@router.get("/", response_class=HTMLResponse, dependencies=[allow(*ANYONE)])
def page(lang: str = "en") -> HTMLResponse:
    """The dashboard page in ``lang`` (en, uk, ru); its data come from the API with the
    token the user enters, so each role sees what it may."""
    from truceline.web.page import render_page

    return HTMLResponse(render_page(lang))


@router.get("/static/{path:path}", dependencies=[allow(*ANYONE)])
def static(path: str) -> FileResponse:
    """The dashboard's scripts, styles and Leaflet (from the ``xstatic-leaflet`` package)."""
    from truceline.web import asset

    target = asset(path)
    if target is None:
        raise NotFound(f"no such file: /static/{path}")
    return FileResponse(target, headers={"Cache-Control": "max-age=3600"})


@router.get("/dashboard/zones")
def zones(
    _user: User = allow(*ANYONE),  # noqa: B008
    ws: Workspace = Depends(workspace),  # noqa: B008
) -> dict[str, Any]:
    """The agreement's zones as GeoJSON, simplified for the screen."""
    from truceline.service.dashboard import agreement_layers

    return agreement_layers(ws)


@router.get("/dashboard/me")
def me(user: User = allow(*ANYONE)) -> dict[str, Any]:  # noqa: B008
    """Who the token belongs to: name, role and party (the public without a token)."""
    return {"name": user.name, "role": user.role.value, "party": user.party}
