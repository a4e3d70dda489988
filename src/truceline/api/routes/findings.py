"""Findings: what each tier may see, and the analyst's review (confirm, dismiss, reopen)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from truceline.api.auth import allow, workspace
from truceline.service.findings import FindingChange, FindingRow, set_status
from truceline.service.publication import tier_of, visible_finding, visible_findings
from truceline.service.users import Role, User
from truceline.service.workspace import Workspace

__all__ = ["router"]

router = APIRouter(tags=["findings"])

_READERS = (Role.ANALYST, Role.PARTY, Role.GUARANTOR, Role.PUBLIC)
_TO = {"confirm": "confirmed", "dismiss": "dismissed", "reopen": "open"}


class FindingOut(BaseModel):
    """A finding as the API shows it: ``FindingRow`` without its internal ``key``."""

    id: int
    rule_id: str
    rule_kind: str
    agreement_id: str
    agreement_version: int
    period_start: int
    period_end: int
    party: str | None
    party_basis: str | None
    severity: str
    confidence: float
    status: str
    summary: str
    evidence: dict[str, Any]
    lon: float | None
    lat: float | None
    created_at: int
    ledger_index: int | None
    changes: list[FindingChange]

    @classmethod
    def of(cls, r: FindingRow) -> FindingOut:
        d = dataclasses.asdict(r)
        d.pop("key")
        return cls(**d)


@router.get("/findings")
def list_findings(
    user: User = allow(*_READERS),
    ws: Workspace = Depends(workspace),
    status: Literal["open", "confirmed", "dismissed"] | None = Query(None),
    party: str | None = Query(None, max_length=20),
    limit: int = Query(1000, ge=1, le=10_000),
) -> list[FindingOut]:
    """Findings, oldest period first, as the tier sees them (the public: a party named
    only on findings an analyst confirmed)."""
    rows = visible_findings(ws, tier_of(user.role), status=status, party=party, limit=limit)
    return [FindingOut.of(r) for r in rows]


@router.get("/findings/{finding_id}")
def get_finding(
    finding_id: int = Path(ge=0, le=2**31),
    user: User = allow(*_READERS),
    ws: Workspace = Depends(workspace),
) -> FindingOut:
    """One finding with its review history."""
    return FindingOut.of(visible_finding(ws, finding_id, tier_of(user.role)))


class ReviewIn(BaseModel):
    action: Literal["confirm", "dismiss", "reopen"]
    reason: str = Field(min_length=1, max_length=5_000)


@router.post("/findings/{finding_id}/status")
def review_finding(
    body: ReviewIn,
    finding_id: int = Path(ge=0, le=2**31),
    user: User = allow(Role.ANALYST),
    ws: Workspace = Depends(workspace),
) -> FindingOut:
    """Confirm, dismiss or reopen a finding (who, when, why; in the ledger)."""
    return FindingOut.of(set_status(ws, finding_id, _TO[body.action], user.actor, body.reason))
