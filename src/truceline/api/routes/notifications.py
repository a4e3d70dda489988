"""The deconfliction register over HTTP: a party liaison notifies, amends, cancels (an
activity) or withdraws (a protected site) and answers for its own party; analysts see
everything, escalate and keep the hotline log. Views apply need to know
(``service.deconfliction_replies``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from truceline.api.auth import allow, workspace
from truceline.domain.errors import Forbidden
from truceline.service import deconfliction as register
from truceline.service import deconfliction_replies as replies
from truceline.service.users import Role, User
from truceline.service.workspace import Workspace

__all__ = ["router"]

router = APIRouter(tags=["deconfliction"])
WS = Depends(workspace)
LIAISON = allow(Role.PARTY)
READERS = allow(Role.ANALYST, Role.PARTY)
STAFF = allow(Role.ANALYST)


class VolumeIn(BaseModel):
    """A notification: the volume, and the current versions of the volumes it meets."""

    activity: str
    footprint: dict[str, Any]
    t_start: int
    t_end: int | None = None
    alt_min_m: float | None = None
    alt_max_m: float | None = None
    personnel: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    cite: dict[int, int] = Field(default_factory=dict)

    def spec(self) -> dict[str, Any]:
        return self.model_dump(exclude={"cite"}, exclude_none=True)


class CancelIn(BaseModel):
    reason: str = ""


class AnswerIn(BaseModel):
    objection: str | None = None  # absent: acknowledge
    version: int | None = None


class CallIn(BaseModel):
    caller: str
    summary: str
    party: str | None = None
    notification: int | None = None


def _party(user: User) -> str:
    if not user.party:
        raise Forbidden(f"user {user.name} speaks for no party")
    return user.party


def _viewer(user: User) -> str | None:
    return None if user.role is Role.ANALYST else _party(user)


@router.post("/notifications", status_code=201)
def notify(body: VolumeIn, user: User = LIAISON, ws: Workspace = WS) -> register.Submission:
    """Notify an activity or a protected site; 409 lists the volumes it must cite."""
    return register.notify(ws, _party(user), body.spec(), body.cite)


@router.post("/notifications/{nid}/amend")
def amend(
    nid: int, body: VolumeIn, user: User = LIAISON, ws: Workspace = WS
) -> register.Submission:
    return register.amend(ws, nid, _party(user), body.spec(), body.cite)


@router.post("/notifications/{nid}/cancel")
def cancel(
    nid: int, body: CancelIn, user: User = LIAISON, ws: Workspace = WS
) -> register.Submission:
    return register.cancel(ws, nid, _party(user), body.reason)


@router.post("/notifications/{nid}/withdraw")
def withdraw(
    nid: int, body: CancelIn, user: User = LIAISON, ws: Workspace = WS
) -> register.Submission:
    """Withdraw a protected site (an activity is cancelled instead: 409)."""
    return register.withdraw(ws, nid, _party(user), body.reason)


@router.get("/notifications")
def list_notifications(user: User = READERS, ws: Workspace = WS) -> list[replies.NotificationView]:
    return replies.list_views(ws, _viewer(user))


@router.get("/notifications/{nid}")
def show(nid: int, user: User = READERS, ws: Workspace = WS) -> replies.NotificationView:
    return replies.view(ws, nid, _viewer(user))


@router.get("/notifications/{nid}/conflicts")
def conflicts(nid: int, user: User = READERS, ws: Workspace = WS) -> list[dict[str, Any]]:
    return replies.conflicts(ws, nid, _viewer(user))


@router.post("/notifications/{nid}/answer")
def answer(nid: int, body: AnswerIn, user: User = LIAISON, ws: Workspace = WS) -> dict[str, Any]:
    """Acknowledge, or object with a reason."""
    a = replies.answer(ws, nid, _party(user), body.objection, body.version)
    return {"notification": a.notification_id, "version": a.version, "answer": a.answer}


@router.post("/notifications/escalate", dependencies=[STAFF])
def escalate(ws: Workspace = WS) -> list[dict[str, Any]]:
    """Escalate every answer past its deadline (once each)."""
    return [
        {"notification": a.notification_id, "version": a.version, "party": a.party}
        for a in replies.escalate(ws)
    ]


@router.post("/hotline", status_code=201, dependencies=[STAFF])
def hotline(body: CallIn, ws: Workspace = WS) -> dict[str, int]:
    return {"id": replies.hotline(ws, body.caller, body.summary, body.party, body.notification)}


@router.get("/hotline", dependencies=[STAFF])
def hotline_log(ws: Workspace = WS) -> list[dict[str, Any]]:
    return replies.hotline_log(ws)
