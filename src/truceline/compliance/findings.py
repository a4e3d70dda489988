"""Findings as records: what is stored and ledgered, and how a re-check merges.

Idempotency (decided here): a finding's ``key`` digests the agreement, the rule
and the *anchor* of its evidence, not the evidence itself. For an incident rule
the anchor is (subject, UTC day, reporting sector, party placed), the subject
being what the rule tells apart (the band, the foreign state; see
``rules._incident``); for a declaration rule it is the declarant, item and
period. Running ``check`` again therefore adds nothing. When the evidence
behind the same anchor changes (another incident that day in that sector, more
observations fused into an incident, a corrected declaration, a new
verification status), the stored finding is updated in place, its status kept,
and the new content is appended to the ledger as a ``finding_update`` leaf;
``ledger_index`` then points at that newest leaf, earlier leaves stay in the
ledger. An open finding a re-check no longer produces (its incidents rejected
or merged away, or its term amended away by a version loaded since) is dismissed
by ``truceline check`` with that reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from truceline.compliance.rules.base import Finding
from truceline.domain.errors import Conflict
from truceline.domain.vocab import FindingStatus

__all__ = ["CONTENT_FIELDS", "TRANSITIONS", "Merge", "check_transition", "content", "merge"]

#: the fields a re-check may change (status and creation time are kept)
CONTENT_FIELDS = (
    "rule_kind",
    "agreement_version",
    "period_start",
    "period_end",
    "party",
    "party_basis",
    "severity",
    "confidence",
    "summary",
    "evidence",
    "lon",
    "lat",
)

TRANSITIONS: dict[str, frozenset[str]] = {
    FindingStatus.OPEN: frozenset({FindingStatus.CONFIRMED, FindingStatus.DISMISSED}),
    FindingStatus.CONFIRMED: frozenset({FindingStatus.DISMISSED, FindingStatus.OPEN}),
    FindingStatus.DISMISSED: frozenset({FindingStatus.OPEN, FindingStatus.CONFIRMED}),
}


def content(f: Finding) -> dict[str, Any]:
    """The stored row of a finding (without id, status, created_at, ledger_index)."""
    return {
        "key": f.key,
        "rule_id": f.rule_id,
        "rule_kind": f.rule_kind,
        "agreement_id": f.agreement_id,
        "agreement_version": f.agreement_version,
        "period_start": f.period_start,
        "period_end": f.period_end,
        "party": f.party,
        "party_basis": f.party_basis,
        "severity": str(f.severity),
        "confidence": float(f.confidence),
        "summary": f.summary,
        "evidence": json.dumps(f.evidence(), sort_keys=True, separators=(",", ":")),
        "lon": f.lon,
        "lat": f.lat,
    }


@dataclass(frozen=True, slots=True)
class Merge:
    new: list[dict[str, Any]]  # rows to insert
    changed: list[tuple[int, dict[str, Any]]]  # (stored id, new content)
    unchanged: int


def merge(stored: Mapping[str, Mapping[str, Any]], found: list[Finding]) -> Merge:
    """Split ``found`` against ``stored`` (key -> stored row) into new, changed, unchanged."""
    new: list[dict[str, Any]] = []
    changed: list[tuple[int, dict[str, Any]]] = []
    unchanged = 0
    seen: set[str] = set()
    for f in found:
        row = content(f)
        if row["key"] in seen:
            continue
        seen.add(row["key"])
        old = stored.get(row["key"])
        if old is None:
            new.append(row)
        elif any(_differs(old.get(k), row[k]) for k in CONTENT_FIELDS):
            changed.append((int(old["id"]), row))
        else:
            unchanged += 1
    return Merge(new, changed, unchanged)


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is not b
        return abs(float(a) - float(b)) > 1e-9
    return bool(a != b)


def check_transition(current: str, to: str, reason: str) -> None:
    """``Conflict`` unless ``current -> to`` is allowed and a reason is given."""
    if to not in TRANSITIONS:
        raise Conflict(f"unknown finding status {to!r}")
    if not reason.strip():
        raise Conflict("a reason is required to change a finding's status")
    if to not in TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"a {current} finding cannot become {to}")
