"""Agreements in the store: loading versions, finding the one in force.

``load_agreement`` compiles an agreement file, stores its canonical JSON (RFC 8785)
with its SHA-256, and appends a ledger entry naming that digest, in one
transaction. Loading the same version again adds nothing; a new version closes
the open-ended previous one at its own ``valid_from``; versions whose validity
would overlap otherwise are refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from truceline.compliance.agreement import Agreement, agreement_path, load_agreement_file
from truceline.domain.errors import AgreementError, NotFound
from truceline.ledger.canonical import canonical_bytes
from truceline.service.workspace import Workspace
from truceline.store import agreements as store
from truceline.store.db import Connection, Row, reading, store_errors, writing
from truceline.store.ledger import append

__all__ = [
    "LoadedAgreement",
    "agreement_in_force",
    "agreement_versions",
    "find_agreement",
    "load_agreement",
    "store_agreement",
]


@dataclass(frozen=True, slots=True)
class LoadedAgreement:
    agreement_id: str
    version: int
    sha256: str
    added: bool  # False when this exact version was already loaded
    ledger_index: int | None
    closed: tuple[int, ...] = ()  # versions whose valid_to this load closed


def _canonical(agreement: Agreement) -> bytes:
    return canonical_bytes(agreement.to_json())


def load_agreement(ws: Workspace, path: Path | str) -> LoadedAgreement:
    """Compile the agreement at ``path`` and store it (idempotent per version)."""
    agreement = load_agreement_file(path)
    with writing(ws.engine, "loading an agreement") as conn:
        return store_agreement(conn, agreement, where=str(agreement_path(Path(path))))


def store_agreement(conn: Connection, agreement: Agreement, where: str = "") -> LoadedAgreement:
    """Store a compiled agreement in the caller's transaction, with its ledger entry."""
    data = _canonical(agreement)
    sha = hashlib.sha256(data).hexdigest()
    rows = store.versions_of(conn, agreement.id)
    for r in rows:
        if r.version == agreement.version:
            if r.sha256 != sha:
                raise AgreementError(
                    f"{where or agreement.id}: agreement.version: version {r.version} of "
                    f"{agreement.id!r} is already loaded with other content "
                    f"(sha256 {r.sha256[:12]}): an amendment needs a new version"
                )
            return LoadedAgreement(agreement.id, r.version, sha, False, r.ledger_index)
    to_close = _check_overlaps(agreement, rows, where)
    for r in to_close:
        store.close_version(conn, r.id, agreement.valid_from)
    closes = [{"version": r.version, "valid_to": agreement.valid_from} for r in to_close]
    record: dict[str, Any] = {
        "agreement_id": agreement.id,
        "version": agreement.version,
        "title": agreement.title,
        "sha256": sha,
        "valid_from": agreement.valid_from,
        "valid_to": agreement.valid_to,
        "closes": closes,
    }
    loaded_at = int(time.time())  # the time of acceptance, inside the leaf too
    ref = f"{agreement.id}@{agreement.version}"
    (leaf,) = append(conn, "agreement", [(ref, record)], at=loaded_at)
    store.insert_version(
        conn,
        {
            "agreement_id": agreement.id,
            "version": agreement.version,
            "valid_from": agreement.valid_from,
            "valid_to": agreement.valid_to,
            "sha256": sha,
            "content": data.decode("utf-8"),
            "loaded_at": loaded_at,
            "ledger_index": leaf,
        },
    )
    closed = tuple(r.version for r in to_close)
    return LoadedAgreement(agreement.id, agreement.version, sha, True, leaf, closed)


def _check_overlaps(a: Agreement, rows: Sequence[Row[Any]], where: str) -> list[Row[Any]]:
    """The stored versions whose open end ``a`` closes; refuses any other overlap."""
    to_close = []
    for r in rows:
        clash = f"{where or a.id}: agreement.valid_from: overlaps version {r.version} of {a.id!r}"
        if r.version < a.version:
            if r.valid_from >= a.valid_from:
                raise AgreementError(f"{clash}, which starts at or after this version's start")
            if r.valid_to is None:
                to_close.append(r)
            elif r.valid_to > a.valid_from:
                raise AgreementError(f"{clash}, which is valid until after this version starts")
        elif a.valid_to is None or a.valid_to > r.valid_from:
            raise AgreementError(f"{clash}, a later version that starts before this one ends")
    return to_close


@lru_cache(maxsize=32)
def _parse(sha256: str, content: str) -> Agreement:
    del sha256  # the cache key: content with the same digest parses the same
    return Agreement.from_json(json.loads(content))


def _from_row(r: Row[Any]) -> Agreement:
    return dataclasses.replace(_parse(r.sha256, r.content), valid_to=r.valid_to)


def agreement_in_force(conn: Connection, t: int) -> Agreement | None:
    """The agreement version in force at epoch second ``t`` (the latest-starting one if
    several agreements are), or None."""
    with store_errors("reading the agreement in force"):
        row = store.in_force(conn, t)
    return None if row is None else _from_row(row)


def agreement_versions(conn: Connection) -> list[Agreement]:
    """Every stored agreement version, by agreement id then version."""
    with store_errors("reading agreements"):
        rows = store.all_versions(conn)
    return [_from_row(r) for r in rows]


def find_agreement(ws: Workspace, agreement_id: str | None = None) -> Agreement:
    """The latest version of ``agreement_id`` (or of the agreement in force now, else the
    latest loaded) in the workspace; ``NotFound`` if there is none."""
    with reading(ws.engine) as conn:
        if agreement_id is None:
            current = agreement_in_force(conn, int(time.time()))
            if current is not None:
                return current
        versions = agreement_versions(conn)
    if agreement_id is not None:
        versions = [a for a in versions if a.id == agreement_id]
    if not versions:
        what = f"agreement {agreement_id!r}" if agreement_id else "any agreement"
        raise NotFound(f"no {what} in this workspace: run `truceline agreement load PATH`")
    return max(versions, key=lambda a: (a.valid_from, a.version))
