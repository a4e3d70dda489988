"""Early-warning alerts: the list, and a server-sent events stream of new ones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from truceline.api.auth import allow, workspace
from truceline.service.alerts import alerts_after, list_alerts
from truceline.service.users import Role
from truceline.service.workspace import Workspace

__all__ = ["router"]

router = APIRouter(tags=["alerts"])

#: who is told of alerts (DESIGN: analysts and guarantors; a party liaison's view
#: by sector needs sectors assigned to parties, which the store does not hold yet)
READERS = (Role.ANALYST, Role.GUARANTOR)


class AlertOut(BaseModel):
    id: int
    unit: str
    kind: str
    day: date
    score: float
    window: list[str]
    baseline: float
    observed: list[int]
    drivers: dict[str, float]
    ledger_index: int | None

    @classmethod
    def of(cls, a: Any) -> AlertOut:
        r = a.record
        return cls(
            id=a.id,
            unit=a.unit,
            kind=a.kind,
            day=date.fromisoformat(a.day),
            score=a.score,
            window=r["window"],
            baseline=r["baseline"],
            observed=r["observed"],
            drivers=r.get("drivers", {}),
            ledger_index=a.ledger_index,
        )


@router.get("/alerts", dependencies=[allow(*READERS)])
def get_alerts(
    ws: Workspace = Depends(workspace),  # noqa: B008
    since: date | None = Query(None, description="first local day"),  # noqa: B008
    unit: str | None = Query(None, max_length=100),
    limit: int = Query(100, ge=1, le=1000),
) -> list[AlertOut]:
    """Stored alerts, newest first."""
    return [AlertOut.of(a) for a in list_alerts(ws, since, unit, limit)]


def _events(ws: Workspace, after: int, wait: float) -> Iterator[str]:
    yield "retry: 5000\n\n"
    deadline = time.monotonic() + wait
    while True:
        for a in alerts_after(ws, after):
            after = a.id
            body = AlertOut.of(a).model_dump_json()
            yield f"id: {a.id}\nevent: alert\ndata: {body}\n\n"
        if time.monotonic() >= deadline:
            return
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


@router.get("/alerts/stream", dependencies=[allow(*READERS)], response_class=StreamingResponse)
def stream_alerts(
    ws: Workspace = Depends(workspace),  # noqa: B008
    last_event_id: int | None = Header(None, alias="Last-Event-ID", ge=0),
    after: int = Query(0, ge=0, description="send alerts stored after this id"),
    wait: float = Query(0.0, ge=0, le=60, description="seconds to hold on for new alerts"),
) -> StreamingResponse:
    """Server-sent events: every alert after ``Last-Event-ID`` (or ``after``), then new
    ones for ``wait`` seconds; the stream ends and the client reconnects (``retry``)."""
    start = last_event_id if last_event_id is not None else after
    return StreamingResponse(_events(ws, start, wait), media_type="text/event-stream")
