"""Findings in the store: merging a check's results, listing, and the review lifecycle."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from truceline.domain.errors import InputError, NotFound
from truceline.domain.vocab import FindingStatus
from truceline.service.workspace import Workspace
from truceline.store import findings as store
from truceline.store.db import Connection, reading, store_errors
from truceline.store.ledger import append

if TYPE_CHECKING:  # the rules (numpy, pyarrow, pyproj) load when findings are merged or moved
    from truceline.compliance.findings import Merge
    from truceline.compliance.rules.base import Finding
    from truceline.report.assessment import AssessmentPaths

__all__ = [
    "FindingChange",
    "FindingRow",
    "assess",
    "confirm",
    "dismiss",
    "get_finding",
    "list_findings",
    "reopen",
    "retire_stale",
    "supersede_answered",
    "set_status",
    "store_findings",
]


@dataclass(frozen=True, slots=True)
class FindingChange:
    from_status: str | None
    to_status: str
    actor: str
    at: int
    reason: str
    ledger_index: int | None


@dataclass(frozen=True, slots=True)
class FindingRow:
    id: int
    key: str
    rule_id: str
    rule_kind: str
    agreement_id: str
    agreement_version: int
    period_start: int
    period_end: int
    party: str | None
    party_basis: str | None
    severity: str
    confidence: float
    status: str
    summary: str
    evidence: dict[str, list[int]]
    lon: float | None
    lat: float | None
    created_at: int
    ledger_index: int | None
    changes: tuple[FindingChange, ...] = ()

    @classmethod
    def of(cls, m: Any, changes: Sequence[FindingChange] = ()) -> FindingRow:
        d = dict(m)
        d["evidence"] = json.loads(d["evidence"])
        return cls(**d, changes=tuple(changes))


def store_findings(conn: Connection, found: list[Finding], now: int | None = None) -> Merge:
    """Insert new findings and update changed ones, each with its ledger leaf."""
    from truceline.compliance.findings import merge

    at = int(time.time()) if now is None else now
    m = merge(store.findings_by_key(conn, sorted({f.key for f in found})), found)
    evidence = {f.key: f.evidence() for f in found}  # as the stored JSON says, not parsed back

    def _ledgered(row: dict[str, Any]) -> dict[str, Any]:
        """The ledger record of a finding row: its content with the evidence as an object."""
        return {**row, "evidence": evidence[row["key"]]}

    if m.new:
        # plain strings, as a row read back has them: the canonical form's fast path takes them
        rows = [{**r, "status": FindingStatus.OPEN.value, "created_at": at} for r in m.new]
        leaves = append(conn, "finding", [(r["key"], _ledgered(r)) for r in rows])
        store.insert_findings(
            conn, [{**r, "ledger_index": i} for r, i in zip(rows, leaves, strict=True)]
        )
    if m.changed:
        leaves = append(
            conn,
            "finding_update",
            [(r["key"], {**_ledgered(r), "finding_id": fid}) for fid, r in m.changed],
        )
        store.update_findings(
            conn,
            [
                (fid, {**r, "ledger_index": i})
                for (fid, r), i in zip(m.changed, leaves, strict=True)
            ],  # fmt: skip
        )
    return m


def retire_stale(
    conn: Connection,
    spans: Sequence[tuple[str, int, int, int]],
    kinds: frozenset[str],
    produced: set[str],
    at: int,
) -> list[int]:
    """Dismiss open findings of incident rules that a re-check of their span no longer
    produces (their incidents were rejected or merged away, or an amendment loaded since
    dropped or changed the term); who and why are recorded.

    ``spans`` are (agreement id, version, t0, t1) judged by the check: an open finding in
    a span is stale whichever version judged it before, since the span is now judged under
    the version in force."""
    stale: dict[int, str] = {}
    for agreement_id, _version, t0, t1 in spans:
        in_span = store.open_in_span(conn, agreement_id, sorted(kinds), t0, t1)
        stale.update((i, k) for i, k in in_span if k not in produced)
    reason = (
        "a re-check under the agreement version in force no longer finds it: its incidents "
        "were rejected or merged, or the term was amended"
    )
    _dismiss_open(conn, sorted(stale.items()), reason, at)
    return sorted(stale)


def supersede_answered(conn: Connection, keys: set[str], at: int) -> list[int]:
    """Dismiss the open "did not declare" findings with these keys, as superseded: the
    declaration has been filed since (who and why recorded; lateness is its own finding)."""
    rows = store.findings_by_key(conn, sorted(keys))
    answered = sorted((r["id"], k) for k, r in rows.items() if r["status"] == FindingStatus.OPEN)
    reason = (
        "superseded: the declaration has been filed since (lateness, if any, is its own finding)"
    )
    _dismiss_open(conn, answered, reason, at)
    return [fid for fid, _ in answered]


def _dismiss_open(conn: Connection, found: list[tuple[int, str]], reason: str, at: int) -> None:
    """Dismiss each open ``(finding id, key)`` for ``reason``, as ``truceline check``:
    the change ledgered and stored, the status set."""
    for fid, key in found:
        record = {"finding_id": fid, "finding_key": key, "from_status": FindingStatus.OPEN,
                  "to_status": FindingStatus.DISMISSED, "actor": "truceline check", "at": at,
                  "reason": reason}  # fmt: skip
        [leaf] = append(conn, "finding_status", [(str(fid), record)])
        row = {k: v for k, v in record.items() if k != "finding_key"}
        store.insert_change(conn, {**row, "ledger_index": leaf})
        store.set_finding_status(conn, fid, FindingStatus.DISMISSED)


def list_findings(
    ws: Workspace,
    *,
    status: str | None = None,
    rule_id: str | None = None,
    party: str | None = None,
    t_from: int | None = None,
    t_to: int | None = None,
    limit: int | None = None,
) -> list[FindingRow]:
    """Findings, oldest period first, filtered as asked."""
    with reading(ws.engine, "reading findings") as conn:
        rows = store.select_findings(
            conn, status=status, rule_id=rule_id, party=party, t_from=t_from, t_to=t_to,
            limit=limit,
        )  # fmt: skip
    return [FindingRow.of(m) for m in rows]


def _get(conn: Connection, finding_id: int) -> FindingRow:
    m = store.finding_by_id(conn, finding_id)
    if m is None:
        raise NotFound(f"no finding {finding_id}")
    changes = [
        FindingChange(
            c["from_status"], c["to_status"], c["actor"], c["at"], c["reason"], c["ledger_index"]
        )
        for c in store.changes_of(conn, finding_id)
    ]
    return FindingRow.of(m, changes)


def get_finding(ws: Workspace, finding_id: int) -> FindingRow:
    """One finding with its history of status changes."""
    with reading(ws.engine, "reading a finding") as conn:
        return _get(conn, finding_id)


def set_status(ws: Workspace, finding_id: int, to: str, actor: str, reason: str) -> FindingRow:
    """Move a finding to ``to`` (who, why), recorded in ``finding_changes`` and the ledger."""
    from truceline.compliance.findings import check_transition

    with store_errors("changing a finding"), ws.engine.begin() as conn:
        current = _get(conn, finding_id)
        check_transition(current.status, to, reason)
        at = int(time.time())
        record = {
            "finding_id": finding_id,
            "finding_key": current.key,
            "from_status": current.status,
            "to_status": to,
            "actor": actor,
            "at": at,
            "reason": reason.strip(),
        }
        [leaf] = append(conn, "finding_status", [(str(finding_id), record)])
        row = {k: v for k, v in record.items() if k != "finding_key"}
        store.insert_change(conn, {**row, "ledger_index": leaf})
        store.set_finding_status(conn, finding_id, to)
        return _get(conn, finding_id)


def confirm(ws: Workspace, finding_id: int, actor: str, reason: str) -> FindingRow:
    return set_status(ws, finding_id, FindingStatus.CONFIRMED, actor, reason)


def dismiss(ws: Workspace, finding_id: int, actor: str, reason: str) -> FindingRow:
    return set_status(ws, finding_id, FindingStatus.DISMISSED, actor, reason)


def reopen(ws: Workspace, finding_id: int, actor: str, reason: str) -> FindingRow:
    return set_status(ws, finding_id, FindingStatus.OPEN, actor, reason)


def _evidence_incidents(conn: Connection, rows: list[FindingRow]) -> list[dict[str, Any]]:
    """The incidents the findings rest on, for the map."""
    return store.evidence_incidents(conn, [i for f in rows for i in f.evidence["incidents"]])


def assess(
    ws: Workspace,
    d1: date,
    d2: date,
    out_dir: Path,
    lang: str = "en",
    *,
    edition: str = "restricted",
) -> AssessmentPaths:
    """The breach assessment of [d1, d2): HTML, PDF, JSON and map in ``out_dir``, for
    guarantors (``restricted``) or anyone (``public``, cut as the public reports are)."""
    from truceline.compliance.periods import to_epoch
    from truceline.report.assessment import assessment_doc, write_assessment
    from truceline.service.agreements import agreement_versions
    from truceline.service.ledger import latest_tree_head

    if d2 <= d1:
        raise InputError(f"--to {d2} must be after --from {d1}")
    t0, t1 = to_epoch(d1), to_epoch(d2)
    rows = list_findings(ws, t_from=t0, t_to=t1)
    with reading(ws.engine, "reading the assessment's evidence") as conn:
        versions = [
            a for a in agreement_versions(conn) if a.valid_from < t1 and (a.valid_to or t1) > t0
        ]
        head = latest_tree_head(conn)
        incs = _evidence_incidents(conn, [f for f in rows if f.status != FindingStatus.DISMISSED])
    head_doc = None if head is None else {"size": head.size, "root_hash": head.root_hash}
    doc = assessment_doc([asdict(f) for f in rows], d1, d2, versions, head_doc, edition=edition)
    latest = versions[-1] if versions else None
    return write_assessment(doc, out_dir, latest, incs, lang)
