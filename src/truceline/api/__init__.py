"""The HTTP API (FastAPI): auth, roles, routes, OGC API - Features."""

from __future__ import annotations

from truceline.api.app import create_app
from truceline.api.limits import ApiLimits

__all__ = ["ApiLimits", "create_app"]
