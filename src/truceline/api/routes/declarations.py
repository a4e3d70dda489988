"""Declarations: a party's or operator's stated figures for a period."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from truceline.api.auth import allow, workspace
from truceline.domain.errors import Forbidden
from truceline.service.declarations import DeclarationIn, declare, list_declarations
from truceline.service.users import Role, User
from truceline.service.workspace import Workspace

__all__ = ["router"]

router = APIRouter(tags=["declarations"])


class DeclarationBody(BaseModel):
    party: str | None = Field(None, max_length=20)
    subject: Literal["personnel", "equipment", "energy"]
    item: str = Field(min_length=1, max_length=60)
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="month, YYYY-MM")
    value: float
    unit: str = Field(min_length=1, max_length=20)
    declarant: str | None = Field(None, max_length=100)
    plant: str | None = Field(None, max_length=100)


class DeclarationOut(BaseModel):
    id: int
    party: str | None
    declarant: str
    subject: str
    item: str
    period_start: int
    period_end: int
    value: float
    unit: str
    filed_at: int
    ledger_index: int | None
    attrs: dict[str, Any]


class StoredOut(BaseModel):
    id: int
    uid: str
    late: bool
    duplicate: bool
    ledger_index: int | None


@router.get("/declarations")
def get_declarations(
    user: User = allow(Role.ANALYST, Role.PARTY, Role.GUARANTOR),
    ws: Workspace = Depends(workspace),
) -> list[DeclarationOut]:
    """Every declaration on record (the parties' figures are shared between them)."""
    return [DeclarationOut(**dataclasses.asdict(d)) for d in list_declarations(ws)]


@router.post("/declarations", status_code=201)
def post_declaration(
    body: DeclarationBody,
    user: User = allow(Role.ANALYST, Role.PARTY),
    ws: Workspace = Depends(workspace),
) -> StoredOut:
    """File a declaration; a liaison files only for its own party."""
    party = body.party
    if user.role is Role.PARTY:
        if party not in (None, user.party):
            raise Forbidden(f"a liaison of party {user.party} files only for its own party")
        party = user.party
    d = DeclarationIn(
        party, body.subject, body.item, body.period, body.value, body.unit, body.declarant,
        body.plant,
    )  # fmt: skip
    s = declare(ws, d)
    return StoredOut(
        id=s.id, uid=s.uid, late=s.late, duplicate=s.duplicate, ledger_index=s.ledger_index
    )
