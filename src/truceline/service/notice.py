"""Major breaches: candidate triggers for analysts, the breach notice for guarantors.

``triggers`` evaluates the agreement's ``[[major_breach]]`` conditions over the stored
findings (``compliance.trigger``). ``write_notice`` writes a breach notice from the
conditions met by analyst-confirmed findings only: the findings, their status
changes and incidents, and every ledger entry they rest on (the finding records, the
confirmations, the observations and declarations) with its inclusion proof against a
freshly signed tree head. ``verify_notice`` checks a notice offline, with nothing but
the file and the mission's verifier key: the head's signature, each entry's proof,
and that every finding named is ledgered and was confirmed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from truceline.compliance.agreement.model import Agreement
from truceline.compliance.trigger import FindingFact, Trigger, triggers
from truceline.domain.errors import InputError
from truceline.domain.vocab import FindingStatus
from truceline.ledger.keys import read_verifier
from truceline.ledger.merkle import hash_leaf, verify_inclusion
from truceline.ledger.note import parse_checkpoint, verify_note
from truceline.service.agreements import agreement_versions
from truceline.service.ledger import issue_tree_head, prove
from truceline.service.workspace import Workspace
from truceline.store import findings as store
from truceline.store.db import Connection, store_errors

__all__ = ["NOTICE_KIND", "NoticeCheck", "find_triggers", "verify_notice", "write_notice"]

NOTICE_KIND = "truceline breach notice"


def _current(versions: list[Agreement]) -> Agreement | None:
    return max(versions, key=lambda a: (a.valid_from, a.version), default=None)


def find_triggers(ws: Workspace) -> list[Trigger]:
    """The major-breach conditions met (confirmed) or nearly (candidates), per party."""
    with store_errors("reading findings"), ws.engine.connect() as conn:
        a = _current(agreement_versions(conn))
        rows = store.select_findings(conn)
    if a is None:
        return []
    facts = [
        FindingFact(
            r["id"], r["rule_id"], r["party"], r["status"], r["period_start"], r["lon"], r["lat"]
        )  # fmt: skip
        for r in rows
        if r["status"] != FindingStatus.DISMISSED
    ]
    return triggers(a, facts)


def _finding_doc(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    changes = store.changes_of(conn, int(row["id"]))
    return {**row, "evidence": json.loads(row["evidence"]), "changes": changes}


def write_notice(ws: Workspace, out: Path) -> dict[str, Any]:
    """Write the breach notice of the conditions met by confirmed findings to ``out``;
    ``InputError`` when none is (candidates are for analysts, never for a notice)."""
    met = [t for t in find_triggers(ws) if t.confirmed]
    if not met:
        raise InputError("no major-breach condition is met by confirmed findings")
    ids = sorted({i for t in met for i in t.findings})
    with store_errors("reading the notice's evidence"), ws.engine.connect() as conn:
        docs = [_finding_doc(conn, r) for r in store.select_findings(conn, ids=ids)]
        incs = store.evidence_incidents(conn, [i for d in docs for i in d["evidence"]["incidents"]])
    leaves: set[int | None] = set()
    for d in docs:
        leaves |= {d["ledger_index"], *d["evidence"]["ledger"]}
        leaves |= {c["ledger_index"] for c in d["changes"]}
    head = issue_tree_head(ws)
    entries = [prove(ws, i, head.size) for i in sorted(x for x in leaves if x is not None)]
    notice = {
        "kind": NOTICE_KIND,
        "issued_at": datetime.fromtimestamp(head.issued_at, UTC).isoformat().replace("+00:00", "Z"),
        "triggers": [
            {"condition": asdict(t.condition), "party": t.party, "findings": list(t.findings)}
            for t in met
        ],
        "findings": docs,
        "incidents": incs,
        "entries": entries,
        "head": head.checkpoint,
        "check": "truceline notice verify NOTICE --key MISSION_VERIFIER_KEY",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(notice, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return notice


@dataclass
class NoticeCheck:
    size: int = 0
    entries: int = 0
    findings: int = 0
    issues: list[str] = field(default_factory=list)


def _entry_issues(entries: list[dict[str, Any]], size: int, root: bytes) -> list[str]:
    issues = []
    for e in entries:
        leaf = hash_leaf(str(e["data"]).encode("utf-8"))
        if leaf.hex() != e["leaf_hash"]:
            issues.append(f"entry {e['index']}: its data does not hash to its leaf hash")
        proof = [bytes.fromhex(p) for p in e["proof"]]
        if not verify_inclusion(int(e["index"]), size, leaf, proof, root):
            issues.append(f"entry {e['index']}: not included in the signed tree of size {size}")
    return issues


def _finding_issues(doc: dict[str, Any], by_index: dict[int, dict[str, Any]]) -> list[str]:
    issues = []
    named = {i for t in doc["triggers"] for i in t["findings"]}
    for f in doc["findings"]:
        fid = f["id"]
        own = by_index.get(f["ledger_index"])
        if own is None or own["ref"] != f["key"]:
            issues.append(f"finding {fid}: its ledger entry is missing or names another finding")
        confirmed = [
            c for c in f["changes"]
            if c["to_status"] == FindingStatus.CONFIRMED and c["ledger_index"] in by_index
        ]  # fmt: skip
        if f["status"] != FindingStatus.CONFIRMED or not confirmed:
            issues.append(f"finding {fid}: not confirmed by an analyst (ledgered confirmation)")
        named.discard(fid)
    issues += [f"finding {i}: named by a trigger but not in the notice" for i in sorted(named)]
    return issues


def verify_notice(path: Path, key: str) -> NoticeCheck:
    """Check a breach notice offline against the mission's verifier key."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable notice: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("kind") != NOTICE_KIND:
        raise InputError(f"{path}: not a {NOTICE_KIND}")
    body = verify_note(str(doc["head"]), read_verifier(key))
    cp = parse_checkpoint(body)
    entries = list(doc.get("entries", []))
    check = NoticeCheck(cp.size, len(entries), len(doc.get("findings", [])))
    check.issues += _entry_issues(entries, cp.size, cp.root)
    check.issues += _finding_issues(doc, {int(e["index"]): e for e in entries})
    return check
