"""Observations as stream messages, and a batch of messages into the store.

A message is one normalised observation as a JSON object (its non-null fields, ``t``
in epoch seconds), under a subject named by its source type, with the record's
idempotency key (:func:`truceline.domain.observations.observation_uid`) as its
message id, so that the stream's own de-duplication drops a re-published record.

A worker hands each fetched batch to :func:`ingest_messages`: the payloads are
validated exactly as a file's rows are, stored and ledgered in one transaction, and
the outcome says which messages were refused and why. Only after it returns (the
transaction committed) may the worker acknowledge them. Storing is idempotent (the
same key is stored once), so a batch delivered again after a crash adds nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from truceline.domain.errors import Problem
from truceline.intake import read_observations
from truceline.intake.jsonfile import read_objects
from truceline.service.ingest import store_parsed, uids_of
from truceline.service.workspace import Workspace

__all__ = ["Batch", "Message", "Outcome", "ingest_messages", "observation_messages", "subject_of"]

_TOKEN = re.compile(r"[^a-z0-9_-]")


@dataclass(frozen=True, slots=True)
class Message:
    subject: str  # the token after the stream's prefix: the source type
    msg_id: str  # the observation's idempotency key
    payload: bytes


@dataclass(frozen=True, slots=True)
class Batch:
    """The messages of one parsed chunk of a file, and the records refused while parsing."""

    messages: list[Message]
    problems: list[Problem]
    read: int


@dataclass(slots=True)
class Outcome:
    """What became of a batch: message positions refused (with reasons), the counts."""

    refused: dict[int, str] = field(default_factory=dict)
    accepted: int = 0
    duplicates: int = 0


def subject_of(source_type: str | None) -> str:
    """A subject token for a source type (``unknown`` when there is none)."""
    token = _TOKEN.sub("_", (source_type or "unknown").lower())
    return token or "unknown"


def _payloads(batch: pa.RecordBatch) -> list[bytes]:
    rows = batch.to_pylist()
    return [
        json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False).encode()
        for r in rows
    ]


def observation_messages(path: str | Path, fmt: str | None = None) -> Iterator[Batch]:
    """The observations of a file as messages, a parsed chunk at a time."""
    for chunk in read_observations(path, fmt):
        b = chunk.batch
        subjects = [subject_of(s) for s in b.column("source_type").to_pylist()]
        messages = [
            Message(s, uid, p) for s, uid, p in zip(subjects, uids_of(b), _payloads(b), strict=True)
        ]
        yield Batch(messages, chunk.problems, chunk.read)


def _decode(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except (ValueError, RecursionError):
        return None  # read_objects words it: "expected a JSON object"


def ingest_messages(ws: Workspace, payloads: Sequence[bytes], where: str) -> Outcome:
    """Validate and store a batch of message payloads in one transaction.

    ``refused`` maps a payload's position (0-based) to the reason it can never be
    stored; every other payload is stored or was already stored when this returns.
    """
    chunk = read_objects([_decode(p) for p in payloads], where)
    report = store_parsed(ws, chunk, where)
    out = Outcome(accepted=report.accepted, duplicates=report.duplicates)
    for p in report.problems:
        if p.line is not None:
            at = int(p.line) - 1
            field_part = f"{p.field}: " if p.field and not p.reason.startswith(p.field) else ""
            out.refused.setdefault(at, field_part + p.reason)
    return out
