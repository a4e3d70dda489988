"""Observations submitted over the API: screened by who sends them, stored as a file's are.

:func:`ingest_records` stores one submission in one transaction.
:func:`ingest_groups` stores several submissions from different callers in one
transaction (group commit: one parse, one ledger append, one commit) and
reports on each as if it had been alone. Either returns only after the commit,
so an accepted record is stored and in the ledger when it returns.

A large submission can be made ready as its request arrives (:func:`prepare`): parsed,
and its signatures checked on the verification threads against the keys its sources
have then, while it waits for its turn to be stored. The transaction storing it reads
each source's registration, policy and key again and checks every signature as
it would have; a check made early over the same bytes against the same key is
taken instead of being made twice, and a key rotated in between is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from truceline.domain.errors import Problem, RejectedBatch
from truceline.domain.observations import RECORD_FIELDS
from truceline.intake import ParsedChunk
from truceline.intake.jsonfile import parse_records
from truceline.ledger.columnar import canonical_rows
from truceline.ledger.signatures import (
    PendingChecks,
    Verdicts,
    reusing,
    start_verifiers,
    verify_many,
)
from truceline.service.ingest import FileReport, store_chunk_on
from truceline.service.sources import ensure_sources
from truceline.service.workspace import Workspace
from truceline.store.db import Connection, reading, store_errors
from truceline.store.source_observations import count_source_observations, source_observations
from truceline.store.source_owners import source_owners
from truceline.store.sources import signature_policies

__all__ = [
    "EARLY",
    "OwnPage",
    "Prepared",
    "Submitter",
    "ingest_groups",
    "ingest_records",
    "own_observations",
    "prepare",
    "warm_up",
]

#: submissions of at least this many records are worth :func:`prepare`: below it (single
#: submissions), parsing several together in their group is cheaper than one by one
EARLY = 200


@dataclass(frozen=True, slots=True)
class Submitter:
    """Who submits, and so which sources it may speak through.

    ``types``: the source types it may submit as (``None``: any); ``party``: a
    liaison submits only through its party's channels (sources of type ``party``
    registered to that party, or new ones, which become its party's); ``source``:
    a user bound to a source submits only as that source.
    """

    types: frozenset[str] | None = None
    party: str | None = None
    source: str | None = None


_ANYONE = Submitter()


def _not_permitted(
    sid: str, known: tuple[str, str | None] | None, row_type: str | None, who: Submitter
) -> str | None:
    if who.source is not None and sid != who.source:
        return f"this user submits only as source {who.source}"
    stype = known[0] if known else (row_type or "osint")
    if who.types is not None and stype not in who.types:
        return f"this user may not submit as a source of type {stype}"
    if who.party is not None and known is not None and known[1] != who.party:
        return f"the source is not a channel of party {who.party}"
    return None


def _screen(
    conn: Connection, origin: str, chunk: ParsedChunk, whos: Sequence[Submitter]
) -> tuple[ParsedChunk, list[Problem]]:
    """The chunk without the rows their senders may not submit, and why each was refused.

    ``whos[line - 1]`` is who sent the record on ``line``.
    """
    batch = chunk.batch  # only the columns screened: a batch of 1,000 makes no other object
    ids, types = batch.column("source_id").to_pylist(), batch.column("source_type").to_pylist()
    known = source_owners(conn, set(ids))
    keep: list[int] = []
    problems: list[Problem] = []
    new_channels: dict[str, set[str]] = {}
    for i, (sid, stype) in enumerate(zip(ids, types, strict=True)):
        line = int(chunk.lines[i])
        who = whos[line - 1]
        reason = _not_permitted(sid, known.get(sid), stype, who)
        if reason is not None:
            cid = batch.column("client_id")[i].as_py()
            problems.append(Problem(reason, origin, line, "source_id", cid))
            continue
        keep.append(i)
        if who.party is not None and sid not in known:
            new_channels.setdefault(who.party, set()).add(sid)
    for party, ids in sorted(new_channels.items()):
        ensure_sources(conn, [(sid, "party") for sid in sorted(ids)], party=party)
    if len(keep) == chunk.batch.num_rows:
        return chunk, problems
    idx = pa.array(keep, pa.int64())
    return replace(chunk, batch=chunk.batch.take(idx), lines=chunk.lines[keep]), problems


def _reports(
    origin: str, sizes: Sequence[int], problems: list[Problem], accepted: set[int]
) -> list[FileReport]:
    """One report per submission, its lines counted from 1 again."""
    out: list[FileReport] = []
    start = 0
    for n in sizes:
        mine = [
            replace(p, line=p.line - start)
            for p in problems
            if p.line is not None and start < p.line <= start + n
        ]
        ok = sum(1 for line in range(start + 1, start + n + 1) if line in accepted)
        bad = len({p.line for p in mine})
        out.append(FileReport(origin, "json", n, ok, n - ok - bad, bad, mine))
        start += n
    return out


_SAMPLE = {"source_id": "warm-up", "t": 0, "lon": 0.0, "lat": 0.0, "radius_m": 1.0, "kind": "other"}


def warm_up() -> None:
    """Do once, before a server takes requests, what its first submission would pay for:
    Arrow loads its compute kernels and imports pandas to look for its arrays (over a
    second on a busy machine, while every submission waiting behind it waits too), and
    the signature checking processes start."""
    parse_records([_SAMPLE], "warm-up")
    start_verifiers()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A submission parsed, its signatures being checked (:func:`prepare`), waiting for its
    turn to be stored."""

    chunk: ParsedChunk
    checks: PendingChecks | None

    def __len__(self) -> int:
        return self.chunk.read

    def ready(self) -> bool:
        """Whether its early checks are done (storing it now would not wait for them)."""
        return self.checks is None or self.checks.done()

    def wait(self) -> None:
        if self.checks is not None:
            self.checks.wait()


def prepare(
    ws: Workspace, records: Sequence[Any], who: Submitter | None, origin: str = "request"
) -> Prepared:
    """Parse ``records`` and start checking their signatures against their sources' keys
    as they are now; :func:`ingest_groups` stores them later (and checks again what a
    key rotated meanwhile makes stale)."""
    chunk = parse_records(records, origin)
    return Prepared(chunk, _check_early(ws, chunk.batch, who or _ANYONE))


def _check_early(ws: Workspace, batch: pa.RecordBatch, who: Submitter) -> PendingChecks | None:
    """Start checking the signed rows of sources that have a key and that the user may
    submit as (no check is spent on rows the transaction will refuse for their sender)."""
    sids, signed = batch.column("source_id"), pc.is_valid(batch.column("signature"))
    if who.source is not None:
        signed = pc.and_(signed, pc.equal(sids, who.source))
    ids = pc.unique(sids.filter(signed)).to_pylist()
    if not ids:
        return None
    with reading(ws.engine, "reading the sources' keys") as conn:  # not waiting for writers
        keys = {sid: key for sid, _, key in signature_policies(conn, ids) if key is not None}
        owners = source_owners(conn, list(keys)) if keys else {}
    keys = {s: k for s, k in keys.items() if not _not_permitted(s, owners.get(s), None, who)}
    if not keys:
        return None
    rows = batch.filter(pc.and_(signed, pc.is_in(sids, pa.array(list(keys), pa.string()))))
    n = rows.num_rows
    record = {k: rows.column(k) for k in RECORD_FIELDS if rows.column(k).null_count < n}
    messages: list[bytes] = canonical_rows(record).to_pylist()  # what each source signed
    signers = [keys[sid] for sid in rows.column("source_id").to_pylist()]
    return verify_many(signers, messages, rows.column("signature").to_pylist())


def _joined(chunks: Sequence[ParsedChunk]) -> ParsedChunk:
    """Parsed submissions end to end, as if parsed together (their lines follow on)."""
    if len(chunks) == 1:
        return chunks[0]
    lines, problems, start = [], [], 0
    for c in chunks:
        lines.append(c.lines + start)
        problems += [p if p.line is None else replace(p, line=p.line + start) for p in c.problems]
        start += c.read
    batch = pa.concat_batches([c.batch for c in chunks])
    return ParsedChunk(batch, np.concatenate(lines), problems, start, start, start, "rows")


def ingest_groups(
    ws: Workspace,
    groups: Sequence[tuple[Sequence[Any] | Prepared, Submitter | None]],
    *,
    origin: str = "request",
) -> list[FileReport]:
    """Store several submissions ``(records, sender)`` in one transaction; a report each.

    The records of a submission may come :class:`Prepared`: their early signature checks
    are awaited, then taken in the transaction where they still hold."""
    raw = [(i, sub) for i, (sub, _) in enumerate(groups) if not isinstance(sub, Prepared)]
    ready = [(i, sub) for i, (sub, _) in enumerate(groups) if isinstance(sub, Prepared)]
    order = [i for i, _ in raw] + [i for i, _ in ready]  # what is not parsed yet goes first
    chunks = [parse_records([r for _, recs in raw for r in recs], origin)] if raw else []
    chunk = _joined(chunks + [p.chunk for _, p in ready])
    whos = [groups[i][1] or _ANYONE for i in order for _ in range(len(groups[i][0]))]
    verdicts = Verdicts(p.checks for _, p in ready if p.checks is not None)
    with (
        store_errors("storing submitted observations"),
        ws.engine.begin() as conn,
        reusing(verdicts),
    ):
        chunk, refused = _screen(conn, origin, chunk, whos)
        stored = store_chunk_on(conn, origin, chunk)
    problems = [*refused, *stored.problems]
    sizes = [len(groups[i][0]) for i in order]
    reports = _reports(origin, sizes, problems, set(stored.accepted_lines))
    out: list[FileReport] = [reports[0]] * len(groups)
    for i, rep in zip(order, reports, strict=True):
        out[i] = rep
    return out


def ingest_records(
    ws: Workspace,
    records: Sequence[Any],
    *,
    origin: str = "request",
    strict: bool = False,
    submitter: Submitter | None = None,
) -> FileReport:
    """Ingest one submission of decoded JSON records in one transaction.

    The same checks as a file (validation, source registration policy,
    signatures, idempotency by client id). With ``strict`` any bad record
    refuses all (``RejectedBatch``, nothing stored).
    """
    if not strict:
        return ingest_groups(ws, [(records, submitter)], origin=origin)[0]
    whos = [submitter or _ANYONE] * len(records)
    chunk = parse_records(records, origin)
    with store_errors("storing submitted observations"), ws.engine.begin() as conn:
        chunk, refused = _screen(conn, origin, chunk, whos)
        stored = store_chunk_on(conn, origin, chunk)
        problems = [*refused, *stored.problems]
        if problems:
            raise RejectedBatch(
                f"refused (strict): {len({p.line for p in problems})} bad record(s) of "
                f"{len(records)}; nothing was stored",
                problems,
            )
    return _reports(origin, [len(records)], problems, set(stored.accepted_lines))[0]


@dataclass(frozen=True, slots=True)
class OwnPage:
    """One page of a source's own raw submissions, and how many it has in all."""

    source: str | None
    observations: list[dict[str, Any]]
    matched: int


def own_observations(ws: Workspace, source: str | None, limit: int, offset: int) -> OwnPage:
    """The raw observations of ``source`` (a user's bound source), newest first; a user
    bound to no source has none of its own."""
    if source is None:
        return OwnPage(None, [], 0)
    with reading(ws.engine, "reading a source's submissions") as conn:
        rows = source_observations(conn, source, limit, offset)
        matched = count_source_observations(conn, source)
    return OwnPage(source, rows, matched)
