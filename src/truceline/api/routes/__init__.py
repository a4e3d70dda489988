"""The API's routers, one module per area, each exposing ``router``.

To add an area: write ``api/routes/<area>.py`` with ``router = APIRouter(...)``
whose every route declares its roles with ``allow(...)``, add its module name
to :data:`ROUTERS`, and add its rows to the role matrix in
``tests/test_api_roles.py`` (see docs/api.md).
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter

__all__ = ["ROUTERS", "routers"]

#: modules of ``truceline.api.routes``, in the order their routes are matched (the
#: busiest first: FastAPI tries each router's routes in turn for every request)
ROUTERS: tuple[str, ...] = (
    "observations",
    "incidents",
    "health",
    "notifications",
    "alerts",
    "findings",
    "declarations",
    "ledger",
    "metrics",
    "ogc",
    "dashboard",
)


def routers() -> list[APIRouter]:
    """Every area's router, imported now (never at import time of the package)."""
    out: list[APIRouter] = []
    for name in ROUTERS:
        module = importlib.import_module(f"truceline.api.routes.{name}")
        out.append(module.router)
    return out
