"""Ingesting observation files: validate, check signatures, de-duplicate, store, ledger.

Each chunk a parser yields is stored in one transaction: sources seen for the
first time are registered, signatures are checked against each source's policy,
records already stored (same ``uid``) or repeated in the file are counted as
duplicates, and the rest are appended to the ledger and inserted in bulk, both
in that transaction. With ``strict`` the whole file is one transaction and any
bad record refuses all of it (:class:`RejectedBatch`, every problem listed); the
files before it in the same call stay stored, the ones after it are not read.

Signatures: a source with ``signature_policy = 'required'`` must sign every
observation; a source with a ``public_key`` has every signature it sends
checked. The signature covers ``observation_record(row)`` of the normalised row
(defaults filled in), as :func:`truceline.ledger.signatures.sign_record` makes it.
A source with neither has its signatures stored unchecked.

Duplicates are found by ``uid`` under the ledger's single-writer lock
(:func:`truceline.store.ledger.lock`), so two ingests of the same new records at
the same moment store them once, on PostgreSQL as on SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sqlalchemy import Connection, select

from truceline.domain.errors import Problem, RejectedBatch
from truceline.domain.observations import RECORD_FIELDS, observation_uid
from truceline.intake import ParsedChunk, read_observations
from truceline.intake.read import resolve_format
from truceline.ledger.signatures import verify_record
from truceline.service.sources import ensure_sources
from truceline.service.workspace import Workspace
from truceline.store import ledger as log
from truceline.store.db import store_errors
from truceline.store.schema import observations, sources

__all__ = ["FileReport", "IngestReport", "Progress", "ingest_files"]

#: called after each chunk with (file, done, total, unit) where unit is "bytes" or "rows"
Progress = Callable[[str, int, int, str], None]

_STORED = (*RECORD_FIELDS, "signature")
_COLUMNS = (*_STORED, "uid", "received_at", "ledger_index")
_IN_SLICE = 5_000
_PIECE_ROWS = 10_000  # rows turned into Python objects at a time
_SQLITE_CACHE_KIB = 65_536

Lines = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    format: str
    read: int
    accepted: int
    duplicates: int
    rejected: int
    problems: list[Problem]


@dataclass(frozen=True, slots=True)
class IngestReport:
    files: list[FileReport]

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]


@dataclass(slots=True)
class _Tally:
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Policy:
    required: bool
    key: bytes | None


def _policies(conn: Connection, ids: Iterable[str]) -> dict[str, _Policy]:
    q = select(sources.c.id, sources.c.signature_policy, sources.c.public_key)
    out: dict[str, _Policy] = {}
    for sid, policy, key in conn.execute(q.where(sources.c.id.in_(list(ids)))):
        if policy == "required" or key is not None:
            out[sid] = _Policy(policy == "required", None if key is None else bytes(key))
    return out


def _signature_problem(
    policy: _Policy, source_id: str, record: dict[str, Any], signature: str | None
) -> str | None:
    if signature is None:
        if policy.required:
            return f"missing signature (source {source_id} requires signed submissions)"
        return None
    if policy.key is None:
        return f"source {source_id} requires signed submissions but has no public key registered"
    reason = verify_record(policy.key, record, signature)
    return None if reason is None else f"{reason} (source {source_id})"


def _existing(conn: Connection, uids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(uids), _IN_SLICE):
        part = list(uids[i : i + _IN_SLICE])
        q = select(observations.c.uid).where(observations.c.uid.in_(part))
        found.update(conn.execute(q).scalars())
    return found


def _insert(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(f'"{c}"' for c in _COLUMNS)
    sql = f"INSERT INTO observations ({names}) VALUES ({', '.join([mark] * len(_COLUMNS))})"
    conn.exec_driver_sql(sql, rows)


def _check(
    conn: Connection, path: str, lines: Lines, cols: dict[str, list[Any]], tally: _Tally
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Records of the rows and, by uid, the first row of each one whose signature holds."""
    policies = _policies(conn, set(cols["source_id"]))
    records: list[dict[str, Any]] = []
    keep: dict[str, int] = {}
    for i in range(len(lines)):
        rec = {k: v for k in RECORD_FIELDS if (v := cols[k][i]) is not None}
        records.append(rec)
        sid = rec["source_id"]
        if sid in policies:
            reason = _signature_problem(policies[sid], sid, rec, cols["signature"][i])
            if reason is not None:
                problem = Problem(reason, path, int(lines[i]), "signature", rec.get("client_id"))
                tally.problems.append(problem)
                tally.rejected += 1
                continue
        keep.setdefault(observation_uid(rec), i)
    return records, keep


def _ledgered(record: dict[str, Any], signature: str | None) -> dict[str, Any]:
    """The ledger's copy of an observation: its record and, when sent, the source's
    signature over that record, so that an auditor can check it offline."""
    return record if signature is None else {**record, "signature": signature}


def _store_rows(
    conn: Connection, path: str, batch: pa.RecordBatch, lines: Lines, tally: _Tally
) -> None:
    cols = batch.to_pydict()
    signed_off = tally.rejected
    records, keep = _check(conn, path, lines, cols, tally)
    signed_off = tally.rejected - signed_off
    log.lock(conn)  # no other writer may store these uids between the check and the insert
    stored = _existing(conn, list(keep))
    new = [(uid, i) for uid, i in keep.items() if uid not in stored]
    tally.duplicates += batch.num_rows - signed_off - len(new)
    tally.accepted += len(new)
    if not new:
        return
    ensure_sources(conn, {(cols["source_id"][i], cols["source_type"][i]) for _, i in new})
    indices = log.append(
        conn, "observation", [(uid, _ledgered(records[i], cols["signature"][i])) for uid, i in new]
    )
    rows_at = [i for _, i in new]
    columns = [[cols[k][i] for i in rows_at] for k in _STORED]
    now = [int(time.time())] * len(new)
    _insert(conn, list(zip(*columns, [uid for uid, _ in new], now, indices, strict=True)))


def _store_chunk(conn: Connection, path: str, chunk: ParsedChunk, tally: _Tally) -> None:
    """Store one chunk on ``conn`` (one transaction), in pieces that keep memory small."""
    if conn.dialect.name == "sqlite":
        # bulk inserts dirty pages all over the uid index: a 64 MiB page cache (instead
        # of 2 MiB) keeps them in memory until the commit
        conn.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
    tally.read += chunk.read
    tally.problems.extend(chunk.problems)
    tally.rejected += chunk.read - chunk.batch.num_rows
    for start in range(0, chunk.batch.num_rows, _PIECE_ROWS):
        piece = chunk.batch.slice(start, _PIECE_ROWS)
        _store_rows(conn, path, piece, chunk.lines[start : start + _PIECE_ROWS], tally)


def _ingest_file(
    ws: Workspace, path: Path, fmt: str | None, strict: bool, progress: Progress | None
) -> FileReport:
    name = resolve_format(path, fmt)
    tally = _Tally()
    chunks = read_observations(path, name)
    with store_errors(f"ingesting {path}"):
        if strict:
            with ws.engine.begin() as conn:
                for chunk in chunks:
                    _store_chunk(conn, str(path), chunk, tally)
                    _report(progress, path, chunk)
                if tally.problems:
                    raise RejectedBatch(
                        f"{path}: refused (strict): {tally.rejected} bad record(s) "
                        f"of {tally.read}; nothing of this file was stored",
                        tally.problems,
                    )
        else:
            for chunk in chunks:
                with ws.engine.begin() as conn:
                    _store_chunk(conn, str(path), chunk, tally)
                _report(progress, path, chunk)
    return FileReport(
        str(path),
        name,
        tally.read,
        tally.accepted,
        tally.duplicates,
        tally.rejected,
        tally.problems,
    )


def _report(progress: Progress | None, path: Path, chunk: ParsedChunk) -> None:
    if progress is not None:
        progress(str(path), chunk.done, chunk.total, chunk.unit)


def ingest_files(
    ws: Workspace,
    paths: Sequence[str | Path],
    fmt: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest each file in turn; a strict file with any bad record raises ``RejectedBatch``."""
    return IngestReport([_ingest_file(ws, Path(p), fmt, strict, progress) for p in paths])
