"""Prometheus metrics for the operators' scraper."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from truceline.api.auth import allow
from truceline.service.users import Role

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, dependencies=[allow(Role.ANALYST)])
def metrics(request: Request) -> Response:
    """Requests and latency by route, observations by outcome and reject reason, ledger size."""
    body = generate_latest(request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
