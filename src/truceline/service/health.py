"""Is the service ready: the store answers and its schema is the newest."""

from __future__ import annotations

from dataclasses import dataclass

from truceline.domain.errors import StoreError
from truceline.service.workspace import Workspace
from truceline.store.db import schema_current

__all__ = ["Readiness", "readiness"]


@dataclass(frozen=True, slots=True)
class Readiness:
    status: str
    database: str
    schema: str


def readiness(ws: Workspace) -> Readiness:
    """``Readiness`` when ready; ``StoreError`` (503) when the store cannot serve."""
    if not schema_current(ws.engine):
        raise StoreError("the store's schema is not the newest: run `truceline init`")
    return Readiness("ready", ws.engine.dialect.name, "current")
