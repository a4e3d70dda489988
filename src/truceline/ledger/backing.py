"""The signer's check that the store backs what it is about to sign.

Before a tree head is issued, every entry appended since the last signed head must be
the record of something the store holds (an entry forged into ``ledger_entries`` with a
correct leaf hash would otherwise be signed into the log for ever):

* an entry a row points to (``ledger_index``) must agree with that row on every field of
  its record (and the row's ``uid`` or digest on what it derives from);
  ``verify-store`` goes further and compares every column, null being a value;
* an entry a row no longer points to must be superseded by a later entry of the same
  record (a source's ``source_update``, a finding's ``finding_update``) that a row does
  point to;
* an incident's facts (``ledger.incidentcheck``) must give the ``incidents`` row and,
  for an ``incident`` record, its members;
* a ``key_rotation`` must introduce a key of ``signing_keys``, signed by the key it
  rotates from; a ``notification_escalation`` must be the ``escalated_at`` of the
  answer it names;
* any other entry is backed by nothing: refused.

Only the entries since the last signed head are read, so the check is as cheap as the
log's growth (plus one pass over the ``ledger_index`` column of each ledgered table).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from truceline.domain.errors import InputError, IntegrityError
from truceline.ledger.incidentcheck import INCIDENT_KINDS, IncidentFold, check_incidents
from truceline.ledger.rotation import ROTATION, verify_rotation
from truceline.ledger.storerows import DERIVED, LedgeredRow, derived_diff, diff

__all__ = ["SUPERSEDED_BY", "WindowEntry", "unbacked"]

#: an entry of the key kind is superseded by a later one of the value kind, same ref
SUPERSEDED_BY = {"source": "source_update", "source_update": "source_update"}
SUPERSEDED_BY |= {"finding": "finding_update", "finding_update": "finding_update"}
ESCALATION = "notification_escalation"


@dataclass(frozen=True, slots=True)
class WindowEntry:
    idx: int
    kind: str
    ref: str
    record: dict[str, Any]
    has_at: bool


def entry(idx: int, kind: str, ref: str, data: bytes) -> WindowEntry:
    try:
        env = json.loads(data)
        rec = env.get("record")
    except (ValueError, AttributeError):
        env, rec = {}, None
    return WindowEntry(idx, kind, ref, rec if isinstance(rec, dict) else {}, "at" in env)


@dataclass(slots=True)
class _Later:
    """What later window entries do to a row: status moves and agreement closings."""

    statuses: dict[str, list[tuple[int, str]]]
    closes: dict[tuple[Any, Any], tuple[int, Any]]

    @classmethod
    def of(cls, entries: Sequence[WindowEntry]) -> _Later:
        later = cls({}, {})
        for e in entries:
            if "to_status" in e.record:
                later.statuses.setdefault(e.ref, []).append((e.idx, str(e.record["to_status"])))
            for c in e.record.get("closes") or [] if e.kind == "agreement" else []:
                if isinstance(c, dict):
                    key = (e.record.get("agreement_id"), c.get("version"))
                    later.closes[key] = (e.idx, c.get("valid_to"))
        return later


def _row_problem(table: str, row: LedgeredRow, e: WindowEntry, later: _Later) -> str:
    """How the row differs from the entry it points to, on the record's fields (later
    window entries folded; ``verify-store`` compares every column)."""
    statuses = {st for i, st in later.statuses.get(str(row.key), []) if i > e.idx}
    record = dict(e.record)
    closed = later.closes.get((record.get("agreement_id"), record.get("version")))
    if closed is not None and closed[0] > e.idx:
        record["valid_to"] = closed[1]
    cols = dict(row.columns)
    if e.kind in SUPERSEDED_BY.values():  # its status may rest on a change before the window
        cols.pop("status", None)
    diffs = diff(cols, record, statuses, DERIVED.get(table), False, table)
    diffs += derived_diff(table, row, ("ref", "sha256", "private_sha256"))
    return "; ".join(diffs)


def unbacked(  # noqa: PLR0913
    entries: Sequence[WindowEntry],
    rows: Iterable[tuple[str, LedgeredRow]],
    incident_rows: Callable[[list[int]], Iterable[Mapping[str, Any]]],
    memberships: Callable[[list[int], list[int]], Iterable[tuple[int, int]]],
    keys: set[str],
    escalations: Mapping[tuple[Any, Any, Any], Any],
) -> list[str]:
    """What the store does not back among ``entries`` (the window, in order): the
    ``rows`` pointing into the window (streamed, with the table they are in), the
    incidents and memberships of the incidents and observations the window's incident
    facts name (read by the two callables), the ``signing_keys`` ids and the answers'
    ``escalated_at`` by (notification, version, party). Empty when all is backed."""
    out: list[str] = []
    by_idx = {e.idx: e for e in entries}
    later = _Later.of(entries)
    pointed: set[int] = set()
    latest: dict[tuple[str, str], int] = {}  # (kind family, ref) -> the entry a row holds
    for table, row in rows:
        e = by_idx.get(row.ledger_index) if row.ledger_index is not None else None
        if e is None:
            continue
        pointed.add(e.idx)
        fam = (SUPERSEDED_BY.get(e.kind, e.kind), e.ref)
        latest[fam] = max(latest.get(fam, -1), e.idx)
        why = _row_problem(table, row, e, later)
        if why:
            out.append(
                f"entry {e.idx} ({e.kind} {e.ref}) does not match {table} row {row.key}: {why}"
            )
    fold = IncidentFold(complete=False)
    for e in entries:
        if e.kind in INCIDENT_KINDS:
            fold.add(e.idx, e.kind, e.ref, e.record)
        if e.idx in pointed or e.kind in INCIDENT_KINDS - {"status_change"}:
            continue
        why = _unpointed(e, latest, keys, escalations)
        if why:
            out.append(f"entry {e.idx} ({e.kind} {e.ref}): {why}")
    ids, members = incident_ids(entries), member_ids(entries)
    if ids:
        found = check_incidents(fold, incident_rows(ids), memberships(ids, members))
        out += [f"entry {i.index} ({i.kind}): {i.detail}" for i in found]
    return out


def _unpointed(
    e: WindowEntry,
    latest: Mapping[tuple[str, str], int],
    keys: set[str],
    escalations: Mapping[tuple[Any, Any, Any], Any],
) -> str:
    """Why an entry no row points to is not backed ('' when it is)."""
    if e.kind in SUPERSEDED_BY:
        if latest.get((SUPERSEDED_BY[e.kind], e.ref), -1) > e.idx:
            return ""
        return "no row holds this record or a later version of it"
    if e.kind == ROTATION:
        return _rotation_problem(e, keys)
    if e.kind == ESCALATION:
        r = e.record
        have = escalations.get((r.get("notification"), r.get("version"), r.get("party")))
        if have is None or have != r.get("escalated_at"):
            return "no notification_answers row was escalated then"
        return ""
    return "no row of the store holds this record"


def _rotation_problem(e: WindowEntry, keys: set[str]) -> str:
    try:
        old, new = verify_rotation(e.record)
    except (InputError, IntegrityError) as exc:
        return exc.message
    if new.key_id != e.ref or new.key_id not in keys or old.key_id not in keys:
        return "it names a key signing_keys does not hold"
    return ""


def incident_ids(entries: Iterable[WindowEntry]) -> list[int]:
    """The incidents the window's facts are about (refs that are ids)."""
    return sorted({int(e.ref) for e in entries if e.kind in INCIDENT_KINDS and e.ref.isdigit()})


def member_ids(entries: Iterable[WindowEntry]) -> list[int]:
    """The observations the window's ``incident`` records list."""
    out: set[int] = set()
    for e in entries:
        if e.kind == "incident":
            out.update(o for o in e.record.get("observations") or [] if isinstance(o, int))
    return sorted(out)
