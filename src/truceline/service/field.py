"""Field intake use cases on a device folder: set up (key pair + outbox), record an
observation, import a CSV made in the field, sync the outbox to the server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from truceline.domain.errors import InputError, LinkDown
from truceline.domain.observations import observation_record
from truceline.field.keys import PUBLIC, create_keys, load_key, public_b64
from truceline.field.uplink import HttpUplink, Uplink
from truceline.store.outbox import open_outbox

__all__ = ["DeviceInfo", "SyncResult", "import_field_file", "init_device", "record", "sync"]

_TYPES = ("monitor", "camera", "acoustic", "uav", "party")


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    source_id: str
    source_type: str
    public_key_b64: str
    public_key_file: Path


@dataclass(frozen=True, slots=True)
class SyncResult:
    sent: int
    accepted: int
    duplicates: int
    refused: int
    pending: int
    link_down: str | None = None


def init_device(folder: Path, source_id: str, source_type: str = "monitor") -> DeviceInfo:
    """Make the device's key pair and its outbox in ``folder``."""
    if source_type not in _TYPES:
        raise InputError(f"--type {source_type!r}: choose one of {', '.join(_TYPES)}")
    if not source_id or len(source_id) > 100:
        raise InputError("--source: give the source id the mission registers (1-100 characters)")
    key = create_keys(folder)
    open_outbox(folder).create(source_id, source_type)
    return DeviceInfo(source_id, source_type, public_b64(key), folder / PUBLIC)


def _sign(folder: Path, raw: list[dict[str, Any]], origin: str) -> list[dict[str, Any]]:
    """Normalise rows exactly as the server will (the intake's own parser), then sign."""
    from truceline.intake.jsonfile import parse_records
    from truceline.ledger.signatures import sign_record

    source_id, source_type = open_outbox(folder).device()
    for r in raw:
        r.update(source_id=source_id, source_type=source_type)
        r.setdefault("client_id", f"{source_id}-{uuid.uuid4().hex[:16]}")
    chunk = parse_records(raw, origin)
    if chunk.problems:
        raise InputError(f"{len(chunk.problems)} record(s) refused, nothing kept", chunk.problems)
    key = load_key(folder)
    out = []
    for row in chunk.batch.to_pylist():
        rec = observation_record(row)
        out.append({**rec, "source_type": source_type, "signature": sign_record(key, rec)})
    return out


def record(folder: Path, fields: dict[str, Any]) -> str:
    """Sign one observation now and keep it in the outbox; returns its client id."""
    signed = _sign(folder, [dict(fields)], "field record")
    open_outbox(folder).add(signed)
    return str(signed[0]["client_id"])


def import_field_file(folder: Path, path: Path) -> int:
    """Sign every row of a native CSV made in the field; all or nothing."""
    import csv

    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [
                {k: v for k, v in row.items() if k and v not in (None, "")}
                for row in csv.DictReader(fh)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    signed = _sign(folder, rows, str(path))
    return open_outbox(folder).add(signed)


def sync(
    folder: Path, url: str, token: str, *, batch: int = 200, uplink: Uplink | None = None
) -> SyncResult:
    """Send the outbox oldest first, ``batch`` records a request; each record is marked
    sent only after the server answered for it. A link that drops stops the sync with
    the rest pending (``link_down`` says why); the next sync resends them."""
    box = open_outbox(folder)
    box.device()
    if uplink is None:
        own = HttpUplink(url, token)
        try:
            return sync(folder, url, token, batch=batch, uplink=own)
        finally:
            own.close()
    link: Uplink = uplink
    sent = accepted = duplicates = refused = 0
    down: str | None = None
    while pending := box.pending(batch):
        try:
            answer = link.send([rec for _seq, rec in pending])
        except LinkDown as exc:
            down = exc.message
            break
        outcomes = [
            (seq, "refused", answer.refused[i]) if i in answer.refused else (seq, "sent", None)
            for i, (seq, _rec) in enumerate(pending, 1)
        ]
        box.mark_sent(outcomes)
        sent += len(pending)
        accepted += answer.accepted
        duplicates += answer.duplicates
        refused += len(answer.refused)
    left = box.counts().get("pending", 0)
    return SyncResult(sent, accepted, duplicates, refused, left, down)
