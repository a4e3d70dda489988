"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from truceline.api.auth import ANYONE, allow, workspace
from truceline.service.health import Readiness, readiness
from truceline.service.workspace import Workspace

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", dependencies=[allow(*ANYONE)])
def healthz() -> dict[str, str]:
    """The process is up (it says nothing of the database: see /readyz)."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[allow(*ANYONE)], responses={503: {"description": "not ready"}})
def readyz(ws: Workspace = Depends(workspace)) -> Readiness:
    """The store answers and its schema is current; 503 (problem+json) otherwise."""
    return readiness(ws)
