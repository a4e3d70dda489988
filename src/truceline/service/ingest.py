"""Ingesting observation files: validate, check signatures, de-duplicate, store, ledger.

The chunks a parser yields are stored a few at a time (:data:`TRANSACTION_ROWS`
records read), each group in one transaction: sources seen for the first time are
registered, signatures are checked against each source's policy,
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

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from truceline.domain.errors import Problem, RejectedBatch
from truceline.domain.observations import RECORD_FIELDS
from truceline.intake import ParsedChunk, read_observations
from truceline.intake.read import resolve_format
from truceline.ledger.columnar import canonical_rows, entry_rows
from truceline.ledger.signatures import verify_record
from truceline.service.sources import REGISTER_ON_SIGHT, ensure_sources
from truceline.service.workspace import Workspace
from truceline.store import ledger as log
from truceline.store import observations as store
from truceline.store.db import Connection, store_errors
from truceline.store.sources import known_ids, signature_policies

__all__ = [
    "KEPT_PROBLEMS",
    "TRANSACTION_ROWS",
    "FileReport",
    "IngestReport",
    "ProblemSink",
    "Progress",
    "StoredChunk",
    "ingest_files",
    "store_chunk_on",
    "store_parsed",
    "uids_of",
]

#: called after each chunk with (file, done, total, unit) where unit is "bytes" or "rows"
Progress = Callable[[str, int, int, str], None]
#: called with every problem found, in order (e.g. to stream them to an errors file)
ProblemSink = Callable[[Problem], None]
#: problems kept in a report (the rest are counted, and given to the sink)
KEPT_PROBLEMS = 1_000
#: records read per transaction of a file's ingest: each commit rewrites the pages of the
#: uid index it touched, which at a million stored are most of them; fewer, larger
#: transactions write them fewer times (memory: the parsed chunks of one transaction)
TRANSACTION_ROWS = 200_000

_STORED = (*RECORD_FIELDS, "signature")

Lines = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    format: str
    read: int
    accepted: int
    duplicates: int
    rejected: int
    problems: list[Problem]  # the first :data:`KEPT_PROBLEMS` of them
    problem_count: int = 0  # all of them


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

    @property
    def problem_count(self) -> int:
        return sum(f.problem_count for f in self.files)


@dataclass(slots=True)
class _Tally:
    """Counts, and the first problems: memory stays bounded however many rows are bad."""

    sink: ProblemSink | None = None
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    accepted_lines: list[int] | None = None  # kept only when asked for (a file's would grow)

    def report(self, path: str, fmt: str) -> FileReport:
        return FileReport(
            path,
            fmt,
            self.read,
            self.accepted,
            self.duplicates,
            self.rejected,
            self.problems,
            self.problem_count,
        )

    def note(self, problems: Iterable[Problem]) -> None:
        for p in problems:
            self.problem_count += 1
            if self.sink is not None:
                self.sink(p)
            if len(self.problems) < KEPT_PROBLEMS:
                self.problems.append(p)


@dataclass(frozen=True, slots=True)
class _Policy:
    required: bool
    key: bytes | None


def _policies(conn: Connection, ids: Iterable[str]) -> dict[str, _Policy]:
    out: dict[str, _Policy] = {}
    for sid, policy, key in signature_policies(conn, list(ids)):
        if policy == "required" or key is not None:
            out[sid] = _Policy(policy == "required", key)
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


def _records(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """The ledger record of each row: every record field that has a value."""
    n = batch.num_rows
    dense: list[str] = []
    sparse: list[str] = []
    for k in RECORD_FIELDS:
        nulls = batch.column(k).null_count
        if nulls == 0:
            dense.append(k)
        elif nulls < n:
            sparse.append(k)
    values = [batch.column(k).to_pylist() for k in dense]
    records = [dict(zip(dense, row, strict=True)) for row in zip(*values, strict=True)]
    if not dense:
        records = [{} for _ in range(n)]
    for k in sparse:
        for rec, v in zip(records, batch.column(k).to_pylist(), strict=True):
            if v is not None:
                rec[k] = v
    return records


def _record_columns(batch: pa.RecordBatch, names: Sequence[str]) -> dict[str, pa.Array]:
    """The columns of ``names`` that hold a value in some row."""
    n = batch.num_rows
    return {k: batch.column(k) for k in names if batch.column(k).null_count < n}


def uids_of(batch: pa.RecordBatch) -> list[str]:
    """Each row's idempotency key (:func:`observation_uid`), hashed from Arrow columns:
    the source and client id when the row has a client id, else its canonical record."""
    uids: list[str] = _uids(batch).to_pylist()
    return uids


def _uids(batch: pa.RecordBatch) -> pa.Array:
    cid = batch.column("client_id")
    keyed = pc.fill_null(pc.greater(pc.utf8_length(cid), 0), False)
    keys = pc.binary_join_element_wise(batch.column("source_id"), cid, "\x1f").cast(pa.binary())
    if not pc.all(keyed).as_py():
        content = canonical_rows(_record_columns(batch, RECORD_FIELDS))
        keys = pc.if_else(keyed, keys, content)
    sha256 = hashlib.sha256
    return pa.array([sha256(k).hexdigest() for k in keys.to_pylist()], pa.string())


def _refused(
    conn: Connection, path: str, batch: pa.RecordBatch, lines: Lines, tally: _Tally
) -> npt.NDArray[np.bool_]:
    """Rows whose signature does not hold against their source's policy (problems added)."""
    refused = _unregistered(conn, path, batch, lines, tally)
    policies = _policies(conn, pc.unique(batch.column("source_id")).to_pylist())
    if not policies:
        tally.rejected += int(refused.sum())
        return refused
    mask = pc.is_in(batch.column("source_id"), pa.array(list(policies), pa.string()))
    rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
    sub = batch.take(pa.array(rows))
    signatures = sub.column("signature").to_pylist()
    for i, rec, sig in zip(rows, _records(sub), signatures, strict=True):
        if refused[i]:
            continue
        sid = rec["source_id"]
        reason = _signature_problem(policies[sid], sid, rec, sig)
        if reason is not None:
            problem = Problem(reason, path, int(lines[i]), "signature", rec.get("client_id"))
            tally.note([problem])
            refused[i] = True
    tally.rejected += int(refused.sum())
    return refused


def _unregistered(
    conn: Connection, path: str, batch: pa.RecordBatch, lines: Lines, tally: _Tally
) -> npt.NDArray[np.bool_]:
    """Rows of monitor or sensor sources not registered yet (only open sources and
    parties are registered on first sight); a problem each."""
    ids, types = batch.column("source_id"), pc.fill_null(batch.column("source_type"), "")
    on_sight = pc.is_in(types, pa.array(sorted(REGISTER_ON_SIGHT), pa.string()))
    sensor = pc.invert(on_sight)
    wanted = pc.unique(ids.filter(pc.and_(sensor, pc.not_equal(types, "")))).to_pylist()
    if not wanted:
        return np.zeros(batch.num_rows, dtype=bool)
    unknown = set(wanted) - known_ids(conn, sorted(wanted))
    refused = pc.and_(pc.is_in(ids, pa.array(sorted(unknown), pa.string())), sensor)
    refused_np: npt.NDArray[np.bool_] = refused.to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(refused_np):
        sid, stype, cid = (
            batch.column(k)[i].as_py() for k in ("source_id", "source_type", "client_id")
        )
        reason = (
            f"source {sid} ({stype}) is not registered: a monitor or sensor source must "
            "be registered with its public key before it submits (truceline sources add)"
        )
        tally.note([Problem(reason, path, int(lines[i]), "source_id", cid)])
    return refused_np


def _store_rows(
    conn: Connection, path: str, batch: pa.RecordBatch, lines: Lines, tally: _Tally
) -> None:
    uids = _uids(batch)
    refused = _refused(conn, path, batch, lines, tally)
    kept = np.flatnonzero(~refused)
    candidates = uids.take(kept)
    # each uid's first row in the file, in file order
    first = kept[np.sort(pc.index_in(pc.unique(candidates), value_set=candidates).to_numpy())]
    log.lock(conn)  # no other writer may store these uids between the check and the insert
    stored = store.existing_uids(conn, uids.take(first).to_pylist())
    if stored:
        was = pc.is_in(uids.take(first), pa.array(sorted(stored), pa.string()))
        new = first[~was.to_numpy(zero_copy_only=False)]
    else:
        new = first
    tally.duplicates += len(kept) - len(new)
    tally.accepted += len(new)
    if tally.accepted_lines is not None:
        tally.accepted_lines.extend(lines[new].tolist())
    if not len(new):
        return
    sub = batch.take(pa.array(new, pa.int64()))
    refs = uids.take(new)
    new_uids = refs.to_pylist()
    kinds = pa.table({k: sub.column(k) for k in ("source_id", "source_type")})
    ensure_sources(conn, set(_pairs(kinds.group_by(kinds.column_names).aggregate([]))))
    received_at = int(time.time())  # the time of acceptance, inside each leaf too
    # the ledger's copy of an observation: its record and, when sent, the source's
    # signature over that record, so that an auditor can check it offline
    records = canonical_rows(_record_columns(sub, _STORED))
    datas = entry_rows("observation", refs, records, received_at).to_pylist()
    del records
    indices = log.append_data(conn, "observation", new_uids, datas, received_at)
    del datas
    columns = {k: sub.column(k) for k in _STORED}
    columns["uid"] = refs
    columns["received_at"] = pa.array(np.full(len(new), received_at, np.int64))
    columns["ledger_index"] = pa.array(np.arange(indices.start, indices.stop, dtype=np.int64))
    store.insert_observations(conn, pa.table(columns))


def _pairs(table: pa.Table) -> list[tuple[str, str | None]]:
    return list(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))


def _store_chunk(conn: Connection, path: str, chunk: ParsedChunk, tally: _Tally) -> None:
    """Store one chunk on ``conn`` (one transaction)."""
    store.prepare_bulk(conn)
    tally.read += chunk.read
    tally.note(chunk.problems)
    tally.rejected += chunk.read - chunk.batch.num_rows
    if chunk.batch.num_rows:
        _store_rows(conn, path, chunk.batch, chunk.lines, tally)


def _ingest_file(
    ws: Workspace,
    path: Path,
    fmt: str | None,
    strict: bool,
    progress: Progress | None,
    sink: ProblemSink | None,
) -> FileReport:
    name = resolve_format(path, fmt)
    tally = _Tally(sink)
    chunks = read_observations(path, name)
    with store_errors(f"ingesting {path}"):
        if strict:
            with ws.engine.begin() as conn:
                for chunk in chunks:
                    _store_chunk(conn, str(path), chunk, tally)
                    _report(progress, path, chunk)
                if tally.problem_count:
                    raise RejectedBatch(
                        f"{path}: refused (strict): {tally.rejected} bad record(s) "
                        f"of {tally.read}; nothing of this file was stored",
                        tally.problems,
                    )
        else:
            for group in _groups(chunks, TRANSACTION_ROWS):
                with ws.engine.begin() as conn:
                    for chunk in group:
                        _store_chunk(conn, str(path), chunk, tally)
                for chunk in group:
                    _report(progress, path, chunk)
    return tally.report(str(path), name)


def _groups(chunks: Iterable[ParsedChunk], rows: int) -> Iterator[list[ParsedChunk]]:
    """Consecutive chunks of about ``rows`` records read, parsed before their transaction
    begins (the write lock is not held while a file is read)."""
    group: list[ParsedChunk] = []
    n = 0
    for chunk in chunks:
        group.append(chunk)
        n += chunk.read
        if n >= rows:
            yield group
            group, n = [], 0
    if group:
        yield group


def store_parsed(ws: Workspace, chunk: ParsedChunk, where: str) -> FileReport:
    """Store one parsed chunk in one transaction (what a stream worker does per batch)."""
    tally = _Tally()
    with store_errors(f"storing {where}"), ws.engine.begin() as conn:
        _store_chunk(conn, where, chunk, tally)
    return tally.report(where, "stream")


def _report(progress: Progress | None, path: Path, chunk: ParsedChunk) -> None:
    if progress is not None:
        progress(str(path), chunk.done, chunk.total, chunk.unit)


def ingest_files(
    ws: Workspace,
    paths: Sequence[str | Path],
    fmt: str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    *,
    on_problem: ProblemSink | None = None,
) -> IngestReport:
    """Ingest each file in turn; a strict file with any bad record raises ``RejectedBatch``.

    Reports keep the first :data:`KEPT_PROBLEMS` problems of each file and count the
    rest; ``on_problem`` is given every one of them as it is found.
    """
    return IngestReport(
        [_ingest_file(ws, Path(p), fmt, strict, progress, on_problem) for p in paths]
    )


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """What storing one parsed chunk did; ``accepted_lines``: the lines newly stored."""

    read: int
    accepted: int
    duplicates: int
    rejected: int
    problems: list[Problem]
    accepted_lines: list[int]


def store_chunk_on(conn: Connection, origin: str, chunk: ParsedChunk) -> StoredChunk:
    """Store a parsed chunk on ``conn`` (the caller's transaction), as a file's chunk is."""
    lines: list[int] = []
    t = _Tally(accepted_lines=lines)
    _store_chunk(conn, origin, chunk, t)
    return StoredChunk(t.read, t.accepted, t.duplicates, t.rejected, t.problems, lines)
