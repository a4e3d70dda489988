"""The HTTP API: :func:`create_app` builds it over one workspace.

No global state: the workspace, limits, token cache and rate limiter live on
``app.state``; routes reach the workspace through the ``workspace`` dependency
and call the same service functions as the CLI.
"""

from __future__ import annotations

from fastapi import FastAPI

from truceline.api.auth import RateLimiter, check_every_route_guarded, new_token_cache
from truceline.api.errors import install_error_handlers
from truceline.api.limits import ApiLimits, BodyLimit, Timeout
from truceline.api.metrics import Metrics, RequestMetrics
from truceline.api.routes import routers
from truceline.api.writer import GroupWriter
from truceline.service.workspace import Workspace

__all__ = ["create_app"]

_DESCRIPTION = """\
The service of a ceasefire monitoring and verification mission: submit observations,
read incidents, findings and reports, check the ledger. Send an API token from
`truceline users add` as `Authorization: Bearer TOKEN`; without one you are the public.
Every error is `application/problem+json`.
"""


def create_app(ws: Workspace, limits: ApiLimits | None = None) -> FastAPI:
    """The API over ``ws``; every route must declare its roles or this refuses to build."""
    from truceline import __version__

    lim = limits or ApiLimits()
    app = FastAPI(
        title="truceline",
        version=__version__,
        description=_DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ws = ws
    app.state.limits = lim
    app.state.tokens = new_token_cache()
    app.state.limiter = RateLimiter(lim.rate_per_s, lim.burst)
    app.state.metrics = Metrics(ws)
    app.state.writer = GroupWriter(ws, on_group=app.state.metrics.groups.observe)
    install_error_handlers(app)
    for router in routers():
        app.include_router(router)
    check_every_route_guarded(app)
    app.add_middleware(Timeout, seconds=lim.timeout_s)
    app.add_middleware(BodyLimit, limit=lim.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    return app
