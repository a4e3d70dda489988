"""Ingesting observation files: validate, check signatures, de-duplicate, store, ledger.

The chunks a parser yields (read in a thread, :data:`AHEAD` chunks ahead) are stored a
few at a time (:data:`TRANSACTION_ROWS` records read), each group in one transaction,
or more when a transaction has held the write lock :data:`LOCK_HOLD_S` before the
group's end: sources seen for the first time are
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
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from truceline.domain.errors import Problem, RejectedBatch
from truceline.domain.observations import RECORD_FIELDS, observation_record
from truceline.intake import ParsedChunk, read_observations
from truceline.intake.read import resolve_format
from truceline.ledger.canonical import canonical_bytes
from truceline.ledger.columnar import canonical_rows, entries_at, entry_tails
from truceline.ledger.log import entry_data
from truceline.ledger.signatures import verify_many
from truceline.service.sources import REGISTER_ON_SIGHT, ensure_sources
from truceline.service.workspace import Workspace
from truceline.store import ledger as log
from truceline.store import observations as store
from truceline.store.db import Connection, store_errors
from truceline.store.sources import signature_policies

__all__ = [
    "AHEAD",
    "KEPT_PROBLEMS",
    "LOCK_HOLD_S",
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
#: a file's transaction commits once it has held the write lock this long (seconds), however
#: few records it holds, so that other writers (the API waits 10 s) get their turn on a
#: busy machine; the check is made after each chunk
LOCK_HOLD_S = 2.0
#: parsed chunks a file's reader may hold ready ahead of the transaction storing them
AHEAD = 2

_STORED = (*RECORD_FIELDS, "signature")
#: fewer rows than this (a few API submissions together) are canonicalised one record at
#: a time: the columnar form makes over a hundred Arrow calls whatever the rows, each
#: with a fixed cost, where one record alone takes about 7 µs
_ROW_BY_ROW = 200

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


def _policies(conn: Connection, ids: Sequence[str]) -> tuple[set[str], dict[str, _Policy]]:
    """Which of ``ids`` are registered, and the signature policy of those that have one
    (one query)."""
    registered: set[str] = set()
    out: dict[str, _Policy] = {}
    for sid, policy, key in signature_policies(conn, ids):
        registered.add(sid)
        if policy == "required" or key is not None:
            out[sid] = _Policy(policy == "required", key)
    return registered, out


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
    digests = b"".join([sha256(k).digest() for k in keys.to_pylist()])
    return _hex_strings(digests, len(keys))


def _hex_strings(digests: bytes, n: int) -> pa.Array:
    """``n`` SHA-256 digests, end to end, as lowercase hex (a string array): one
    ``bytes.hex`` for the lot, its text the array's data, every value 64 characters."""
    offsets = np.arange(0, 64 * n + 1, 64, dtype=np.int32)
    data = digests.hex().encode("ascii")
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _signature_checks(
    conn: Connection, path: str, batch: pa.RecordBatch, lines: Lines, tally: _Tally
) -> Callable[[], npt.NDArray[np.bool_]]:
    """Start checking each row against its source's registration and signature policy;
    the function returned waits for the checks and gives the rows refused (their
    problems noted, in row order). The signatures are checked on other threads
    (:func:`verify_many`) while the caller goes on."""
    registered, policies = _policies(conn, pc.unique(batch.column("source_id")).to_pylist())
    refused = _unregistered(registered, path, batch, lines, tally)
    mask = pc.is_in(batch.column("source_id"), pa.array(list(policies), pa.string()))
    rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False) & ~refused)
    sub = batch.take(pa.array(rows, pa.int64()))
    sids, sigs = sub.column("source_id").to_pylist(), sub.column("signature").to_pylist()
    found: list[tuple[int, str]] = []  # (place in sub, reason)
    checked: list[int] = []
    for j, (sid, sig) in enumerate(zip(sids, sigs, strict=True)):
        policy = policies[sid]
        if sig is None:
            if policy.required:
                found.append((j, f"missing signature (source {sid} requires signed submissions)"))
        elif policy.key is None:
            reason = f"source {sid} requires signed submissions but has no public key registered"
            found.append((j, reason))
        else:
            checked.append(j)
    pending = None
    if checked:
        # the signed bytes: each row's record, canonical (what sign_record signs)
        messages = _signed_bytes(sub.take(pa.array(checked, pa.int64())))
        keys = [cast(bytes, policies[sids[j]].key) for j in checked]
        pending = verify_many(keys, messages, [sigs[j] for j in checked])

    def finish() -> npt.NDArray[np.bool_]:
        if pending is not None:
            for j, reason in zip(checked, pending.reasons(), strict=True):
                if reason is not None:
                    found.append((j, f"{reason} (source {sids[j]})"))
        if found:
            found.sort()
            cids = sub.column("client_id").take(pa.array([j for j, _ in found])).to_pylist()
            for (j, reason), cid in zip(found, cids, strict=True):
                i = rows[j]
                tally.note([Problem(reason, path, int(lines[i]), "signature", cid)])
                refused[i] = True
        tally.rejected += int(refused.sum())
        return refused

    return finish


def _unregistered(
    registered: set[str], path: str, batch: pa.RecordBatch, lines: Lines, tally: _Tally
) -> npt.NDArray[np.bool_]:
    """Rows of monitor or sensor sources not registered yet (only open sources and
    parties are registered on first sight); a problem each."""
    ids, types = batch.column("source_id"), pc.fill_null(batch.column("source_type"), "")
    on_sight = pc.is_in(types, pa.array(sorted(REGISTER_ON_SIGHT), pa.string()))
    sensor = pc.invert(on_sight)
    wanted = pc.unique(ids.filter(pc.and_(sensor, pc.not_equal(types, "")))).to_pylist()
    if not wanted:
        return np.zeros(batch.num_rows, dtype=bool)
    unknown = set(wanted) - registered
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


@dataclass(frozen=True, slots=True)
class _Ready:
    """A parsed chunk and what its rows need before the write lock is taken: each row's
    uid and, made ahead for a file's chunk of :data:`_ROW_BY_ROW` rows or more, its
    ledger entry but for the time of acceptance (``entry_tails``). A file's reader makes
    these on its thread (:func:`_ahead`): their Arrow work runs beside the transaction
    storing the chunks before (its SQLite statements release the GIL). Made for every
    row, duplicates too: a batch stored at once (the API's) has the entries of its new
    rows alone made in its transaction instead."""

    chunk: ParsedChunk
    uids: pa.Array
    tails: pa.Array | None


def _ready(chunk: ParsedChunk, entries: bool = False) -> _Ready:
    """``chunk`` with its uids, and with its entries' tails if ``entries``."""
    batch = chunk.batch
    if not batch.num_rows:
        return _Ready(chunk, pa.array([], pa.string()), None)
    uids = _uids(batch)
    if not entries or batch.num_rows < _ROW_BY_ROW:
        return _Ready(chunk, uids, None)
    records = canonical_rows(_record_columns(batch, _STORED))
    return _Ready(chunk, uids, entry_tails("observation", uids, records))


def _store_rows(conn: Connection, path: str, ready: _Ready, lines: Lines, tally: _Tally) -> None:
    batch, uids = ready.chunk.batch, ready.uids
    refusals = _signature_checks(conn, path, batch, lines, tally)
    # while the signatures are checked: which of these uids are stored already
    log.lock(conn)  # no other writer may store these uids between the check and the insert
    distinct = pc.unique(uids)
    stored = distinct.filter(pa.array(store.stored_mask(conn, distinct)))
    kept = np.flatnonzero(~refusals())
    candidates = uids.take(kept)
    # each uid's first row in the file, in file order
    first = kept[np.sort(pc.index_in(pc.unique(candidates), value_set=candidates).to_numpy())]
    if len(stored):
        was = pc.is_in(uids.take(pa.array(first, pa.int64())), value_set=stored)
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
    ensure_sources(conn, _source_kinds(sub))
    received_at = int(time.time())  # the time of acceptance, inside each leaf too
    if ready.tails is None:
        datas = _entry_datas(sub, refs, received_at)
    else:
        datas = entries_at(received_at, ready.tails.take(new)).to_pylist()
    indices = log.append_data(conn, "observation", new_uids, datas, received_at)
    del datas
    columns = {k: sub.column(k) for k in _STORED}
    columns["uid"] = refs
    columns["received_at"] = pa.array(np.full(len(new), received_at, np.int64))
    columns["ledger_index"] = pa.array(np.arange(indices.start, indices.stop, dtype=np.int64))
    store.insert_observations(conn, pa.table(columns))


def _source_kinds(batch: pa.RecordBatch) -> set[tuple[str, str | None]]:
    """The distinct (source id, source type) pairs of ``batch``."""
    ids, types = batch.column("source_id"), batch.column("source_type")
    if batch.num_rows < _ROW_BY_ROW:
        return set(zip(ids.to_pylist(), types.to_pylist(), strict=True))
    kinds = pa.table({"source_id": ids, "source_type": types})
    pairs = kinds.group_by(kinds.column_names).aggregate([])
    return set(zip(pairs.column(0).to_pylist(), pairs.column(1).to_pylist(), strict=True))


def _signed_bytes(batch: pa.RecordBatch) -> list[bytes]:
    """What each row's source signs: the canonical bytes of its record."""
    if batch.num_rows < _ROW_BY_ROW:
        rows = batch.select(list(RECORD_FIELDS)).to_pylist()
        return [canonical_bytes(observation_record(r)) for r in rows]
    messages: list[bytes] = canonical_rows(_record_columns(batch, RECORD_FIELDS)).to_pylist()
    return messages


def _entry_datas(batch: pa.RecordBatch, refs: pa.Array, at: int) -> list[bytes]:
    """The ledger entry of each row: its record and, when sent, the source's signature over
    that record (so that an auditor can check it offline), accepted at ``at``."""
    if batch.num_rows < _ROW_BY_ROW:
        rows = batch.select(list(_STORED)).to_pylist()
        return [
            entry_data("observation", ref, {k: v for k, v in r.items() if v is not None}, at)
            for ref, r in zip(refs.to_pylist(), rows, strict=True)
        ]
    records = canonical_rows(_record_columns(batch, _STORED))
    datas: list[bytes] = entries_at(at, entry_tails("observation", refs, records)).to_pylist()
    return datas


def _store_chunk(conn: Connection, path: str, ready: _Ready, tally: _Tally) -> None:
    """Store one chunk on ``conn`` (one transaction)."""
    chunk = ready.chunk
    store.prepare_bulk(conn)
    tally.read += chunk.read
    tally.note(chunk.problems)
    tally.rejected += chunk.read - chunk.batch.num_rows
    if chunk.batch.num_rows:
        _store_rows(conn, path, ready, chunk.lines, tally)


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
                    _store_chunk(conn, str(path), _ready(chunk), tally)
                    _report(progress, path, chunk)
                if tally.problem_count:
                    raise RejectedBatch(
                        f"{path}: refused (strict): {tally.rejected} bad record(s) "
                        f"of {tally.read}; nothing of this file was stored",
                        tally.problems,
                    )
        else:
            news = threading.Event()  # whether the last chunk stored had new records
            news.set()
            for group in _groups(_ahead(chunks, news), TRANSACTION_ROWS):
                while group:
                    with ws.engine.begin() as conn:
                        stored = _store_for_a_while(conn, str(path), group, tally, news)
                    for ready in group[:stored]:
                        _report(progress, path, ready.chunk)
                    group = group[stored:]
    return tally.report(str(path), name)


def _store_for_a_while(
    conn: Connection, path: str, group: Sequence[_Ready], tally: _Tally, news: threading.Event
) -> int:
    """Store chunks of ``group`` on ``conn`` until all are or the transaction has held
    the write lock :data:`LOCK_HOLD_S`; returns how many were stored. ``news`` is set
    when the last chunk stored had new records, cleared when it had none."""
    began = time.monotonic()
    for n, ready in enumerate(group, 1):
        accepted = tally.accepted
        _store_chunk(conn, path, ready, tally)
        if tally.accepted > accepted:
            news.set()
        else:
            news.clear()
        if time.monotonic() - began >= LOCK_HOLD_S:
            return n
    return len(group)


def _ahead(chunks: Iterator[ParsedChunk], news: threading.Event) -> Iterator[_Ready]:
    """``chunks``, parsed and made :func:`_ready` in a thread up to :data:`AHEAD` chunks
    ahead of their storing: the parser's Arrow work and SQLite's statements release the
    GIL, so on a second core the next chunks are read while these are written (memory:
    ``AHEAD`` chunks more). Their entries are made ahead while ``news`` is set: once a
    chunk stored had no new record (a file ingested again), the next ones' entries are
    left to their transactions, which make those of new records alone."""
    slots: queue.Queue[tuple[_Ready | None, BaseException | None]] = queue.Queue(AHEAD)
    stop = threading.Event()

    def put(item: tuple[_Ready | None, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def parse() -> None:
        try:
            for chunk in chunks:
                if not put((_ready(chunk, entries=news.is_set()), None)):
                    return
            put((None, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((None, exc))

    worker = threading.Thread(target=parse, name="ingest-parse", daemon=True)
    worker.start()
    try:
        while True:
            ready, exc = slots.get()
            if exc is not None:
                raise exc
            if ready is None:
                return
            yield ready
    finally:
        stop.set()
        worker.join()


def _groups(chunks: Iterable[_Ready], rows: int) -> Iterator[list[_Ready]]:
    """Consecutive chunks of about ``rows`` records read, parsed before their transaction
    begins (the write lock is not held while a file is read)."""
    group: list[_Ready] = []
    n = 0
    for ready in chunks:
        group.append(ready)
        n += ready.chunk.read
        if n >= rows:
            yield group
            group, n = [], 0
    if group:
        yield group


def store_parsed(ws: Workspace, chunk: ParsedChunk, where: str) -> FileReport:
    """Store one parsed chunk in one transaction (what a stream worker does per batch)."""
    tally = _Tally()
    with store_errors(f"storing {where}"), ws.engine.begin() as conn:
        _store_chunk(conn, where, _ready(chunk), tally)
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
    _store_chunk(conn, origin, _ready(chunk), t)
    return StoredChunk(t.read, t.accepted, t.duplicates, t.rejected, t.problems, lines)
