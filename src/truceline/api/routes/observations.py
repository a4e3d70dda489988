"""Submitting observations: one, or a batch, through the intake's own checks; and a
monitor's or sensor's own submissions read back.

A record's idempotency key is its client id (``source_id`` + ``client_id``):
a record sent twice is stored once. The answer comes only after the records
are committed and in the ledger. A user bound to a source reads back that
source's raw observations and nobody else's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, with_config
from typing_extensions import TypedDict

from truceline.api.auth import allow, workspace
from truceline.domain.errors import InputError, RejectedBatch, TooLarge
from truceline.service.ingest import FileReport
from truceline.service.submissions import Submitter, ingest_records, own_observations
from truceline.service.users import SUBMIT_TYPES, Role, User
from truceline.service.workspace import Workspace

__all__ = ["router"]

router = APIRouter(tags=["observations"])

_SUBMIT = (Role.MONITOR, Role.SENSOR, Role.PARTY, Role.ANALYST)
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


@with_config(ConfigDict(extra="forbid", allow_inf_nan=False))
class ObservationIn(TypedDict):
    """One observation, in the native field names (docs: the intake formats)."""

    source_id: Annotated[str, Field(max_length=100)]
    source_type: NotRequired[Annotated[str | None, Field(max_length=20)]]
    client_id: NotRequired[
        Annotated[str | None, Field(max_length=200, description="idempotency key")]
    ]
    t: Annotated[Int64 | str, Field(description="ISO 8601 with Z or offset, or epoch seconds")]
    t_unc_s: NotRequired[float | None]
    lon: NotRequired[float | None]
    lat: NotRequired[float | None]
    radius_m: NotRequired[float | None]
    obs_lon: NotRequired[float | None]
    obs_lat: NotRequired[float | None]
    bearing_deg: NotRequired[float | None]
    bearing_sd_deg: NotRequired[float | None]
    range_min_m: NotRequired[float | None]
    range_max_m: NotRequired[float | None]
    kind: Annotated[str, Field(max_length=30)]
    weapon_class: NotRequired[Annotated[str | None, Field(max_length=40)]]
    count: NotRequired[Int64 | None]
    credibility: NotRequired[Int64 | None]
    actor: NotRequired[Annotated[str | None, Field(max_length=20)]]
    corrects: NotRequired[Annotated[str | None, Field(max_length=64)]]
    description: NotRequired[Annotated[str | None, Field(max_length=10_000)]]
    attrs: NotRequired[dict[str, Any] | None]
    signature: NotRequired[
        Annotated[str | None, Field(max_length=200, description="base64 Ed25519")]
    ]


@with_config(ConfigDict(extra="forbid"))
class ObservationBatch(TypedDict):
    observations: list[ObservationIn]
    strict: NotRequired[
        Annotated[bool, Field(False, description="refuse the whole batch if any record is bad")]
    ]


class ProblemOut(BaseModel):
    reason: str
    line: int | None = Field(None, description="1-based place of the record in the batch")
    field: str | None = None
    record: str | None = None


class SubmissionOut(BaseModel):
    """What was done with a submission (after its commit and ledger entry)."""

    read: int
    accepted: int
    duplicates: int
    rejected: int
    problems: list[ProblemOut]


class AckOut(BaseModel):
    status: Literal["stored", "duplicate"]
    client_id: str | None


def _submitter(user: User) -> Submitter:
    return Submitter(SUBMIT_TYPES.get(user.role), user.party, user.source)


def _out(rep: FileReport) -> SubmissionOut:
    problems = [
        ProblemOut(reason=p.reason, line=p.line, field=p.field, record=p.record)
        for p in rep.problems
    ]
    return SubmissionOut(
        read=rep.read,
        accepted=rep.accepted,
        duplicates=rep.duplicates,
        rejected=rep.rejected,
        problems=problems,
    )


def _store(
    request: Request, ws: Workspace, records: list[ObservationIn], who: Submitter, strict: bool
) -> FileReport:
    """Store through the app's group writer (a strict batch alone, all or nothing)."""
    state = request.app.state
    try:
        if strict:
            rep = ingest_records(ws, records, strict=True, submitter=who)
        else:
            rep = state.writer.submit(records, who, state.limits.timeout_s)
    except RejectedBatch as exc:
        state.metrics.rejects.labels("batch").inc(len(exc.errors))
        raise
    state.metrics.submitted(rep)
    return rep


class OwnObservationsOut(BaseModel):
    """A source's own raw observations, newest first (``source`` null: the user is bound
    to no source, so it has none of its own)."""

    source: str | None
    matched: int
    observations: list[dict[str, Any]]


@router.get("/observations/mine")
def own_submissions(
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=2**62),
    user: User = allow(Role.MONITOR, Role.SENSOR),
    ws: Workspace = Depends(workspace),
) -> OwnObservationsOut:
    """The raw observations of the caller's own source (bound with ``users add --source``),
    newest first: its positions and remarks as sent; never another source's."""
    page = own_observations(ws, user.source, limit, offset)
    return OwnObservationsOut(
        source=page.source, matched=page.matched, observations=page.observations
    )


@router.post("/observations", status_code=201, responses={200: {"model": AckOut}})
async def submit_one(
    obs: ObservationIn,
    request: Request,
    response: Response,
    user: User = allow(*_SUBMIT),
) -> AckOut:
    """Submit one observation: 201 once stored, 200 if it was already on record."""
    state = request.app.state  # waits for the group writer's commit on the event loop
    rep = await state.writer.submit_async([obs], _submitter(user), state.limits.timeout_s)
    state.metrics.submitted(rep)
    if rep.rejected:
        raise InputError("the observation was refused", rep.problems)
    if rep.duplicates:
        response.status_code = 200
        return AckOut(status="duplicate", client_id=obs.get("client_id"))
    return AckOut(status="stored", client_id=obs.get("client_id"))


@router.post("/observations/batch")
def submit_batch(
    batch: ObservationBatch,
    request: Request,
    user: User = allow(*_SUBMIT),
    ws: Workspace = Depends(workspace),
) -> SubmissionOut:
    """Submit a batch: good records are stored, bad ones listed with their reason."""
    most, records = request.app.state.limits.max_batch, batch["observations"]
    if len(records) > most:
        raise TooLarge(f"a batch holds at most {most} observations, not {len(records)}")
    rep = _store(request, ws, records, _submitter(user), batch.get("strict", False))
    return _out(rep)
