"""The evidence ledger: tree heads, inclusion and consistency proofs, reports' days."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from truceline.api.auth import ANYONE, allow, workspace
from truceline.domain.errors import NotFound
from truceline.service.ledger import consistency, current_head
from truceline.service.publication import PUBLISHED, Tier, ledger_proof, tier_of
from truceline.service.reports import report_days
from truceline.service.users import Role, User
from truceline.service.workspace import Workspace

__all__ = ["router"]

router = APIRouter(tags=["ledger"])

_READERS = tuple(ANYONE - {Role.SENSOR})


class HeadOut(BaseModel):
    size: int
    root_hash: str
    issued_at: int
    checkpoint: str
    key_id: str
    cosigners: list[str]


class ReportDay(BaseModel):
    day: date
    incidents: int


@router.get("/ledger/head")
def head(user: User = allow(*_READERS), ws: Workspace = Depends(workspace)) -> HeadOut:
    """The latest signed tree head (a C2SP checkpoint with its cosignatures)."""
    h = current_head(ws)
    if h is None:
        raise NotFound("no tree head has been issued yet")
    return HeadOut(
        size=h.size,
        root_hash=h.root_hash,
        issued_at=h.issued_at,
        checkpoint=h.checkpoint,
        key_id=h.key_id,
        cosigners=list(h.cosigners),
    )


@router.get("/ledger/proof/{index}")
def proof(
    index: int = Path(ge=0, le=2**62),
    size: int | None = Query(None, ge=1, le=2**62),
    user: User = allow(*_READERS),
    ws: Workspace = Depends(workspace),
) -> dict[str, Any]:
    """Inclusion proof of entry ``index`` (only the analyst's carries the entry's data)."""
    return ledger_proof(ws, index, size, tier_of(user.role))


@router.get("/ledger/consistency")
def consistency_proof(
    old: int = Query(ge=0, le=2**62),
    new: int = Query(ge=0, le=2**62),
    user: User = allow(*_READERS),
    ws: Workspace = Depends(workspace),
) -> dict[str, Any]:
    """Consistency proof between two tree sizes (RFC 9162)."""
    return consistency(ws, old, new)


@router.get("/reports")
def reports(user: User = allow(*ANYONE), ws: Workspace = Depends(workspace)) -> list[ReportDay]:
    """Every UTC day with incidents, and how many (the days a daily report covers):
    of the incidents the caller may see (all for the analyst, else published only)."""
    statuses = None if tier_of(user.role) is Tier.RESTRICTED else PUBLISHED
    return [ReportDay(day=d, incidents=n) for d, n in report_days(ws, statuses)]
