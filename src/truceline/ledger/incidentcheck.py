"""Incidents recomputed from the log: every logged fact about an incident, folded in
ledger order, must give the ``incidents`` row and the ``incident_observations``
membership the store holds.

The facts (each an entry whose ref is the incident's id):

* ``incident`` (fusion: creation or update): the fused columns (:data:`FUSED`, a
  column the record leaves out being null), the ``status``, no ``side`` (fusion
  clears the side of what it moves; an ``incident_side`` entry sets it again) and the
  whole member list (``observations``): an observation belongs to the incident whose record
  listed it last (a merge lists the absorbed incident's members under the survivor);
* ``status_change``: ``to_status`` sets the status, except ``merged``, which sets
  ``merged_into`` (from its evidence) and leaves the status;
* ``incident_attribution``: ``actor``, ``actor_confidence``, ``actor_basis``;
* ``incident_side``: ``side`` (the side-of-the-line probabilities).

Folding the whole log (``complete``), an incident's first ``incident`` record
creates it: attribution, side and merge are null until a later fact sets them.
Folding only the entries since the last signed head (the signer's check), a
fact constrains the columns it sets and, for an ``incident`` record, the
incident's members. ``id`` is the entries' ref; ``created_at`` and
``updated_at`` are bookkeeping times, not facts, and are not compared.

A difference is named once, by the entry that set the value the table should
hold: one hand edit of a row is one problem (several columns of one row in one
problem), one membership moved is one problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from truceline.ledger.audit import Issue

__all__ = ["INCIDENT_KINDS", "IncidentFold", "check_incidents"]

INCIDENT_KINDS = frozenset({"incident", "status_change", "incident_attribution", "incident_side"})
FUSED = (
    "t",
    "t_start",
    "t_end",
    "lon",
    "lat",
    "radius_m",
    "ellipse",
    "kind",
    "weapon_class",
    "count",
    "n_observations",
    "n_groups",
    "confidence",
    "sector",
)
ATTRIBUTION = ("actor", "actor_confidence", "actor_basis")
_CREATED_NULL = (*ATTRIBUTION, "side", "merged_into")
MERGED = "merged"


@dataclass(slots=True)
class _State:
    """What the facts say of one incident: column -> (value, entry, kind)."""

    values: dict[str, tuple[Any, int, str]] = field(default_factory=dict)
    members_at: int | None = None  # the entry of its last ``incident`` record
    entries: list[int] = field(default_factory=list)
    first_kind: str = "incident"


@dataclass(slots=True)
class IncidentFold:
    """The incidents' state folded from their facts, fed one entry at a time."""

    complete: bool = True
    states: dict[str, _State] = field(default_factory=dict)
    owner: dict[int, tuple[str, int]] = field(default_factory=dict)  # obs -> (incident, entry)
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (entry, why)

    def add(self, idx: int, kind: str, ref: str, record: Any) -> None:
        if kind not in INCIDENT_KINDS or not isinstance(record, dict):
            return
        st = self.states.setdefault(ref, _State(first_kind=kind))
        st.entries.append(idx)
        if kind == "incident":
            self._incident(st, idx, ref, record)
        elif kind == "status_change":
            self._status(st, idx, record)
        elif kind == "incident_attribution":
            for c in ATTRIBUTION:
                st.values[c] = (record.get(c), idx, kind)
        elif kind == "incident_side":
            st.values["side"] = (record.get("side"), idx, kind)

    def _incident(self, st: _State, idx: int, ref: str, rec: dict[str, Any]) -> None:
        if self.complete and st.members_at is None:
            for c in _CREATED_NULL:
                st.values[c] = (None, idx, "incident")
        for c in (*FUSED, "status"):
            st.values[c] = (rec.get(c), idx, "incident")
        st.values["side"] = (None, idx, "incident")  # fusion moved it: its side is recomputed
        st.members_at = idx
        for o in rec.get("observations") or []:
            if isinstance(o, int):
                self.owner[o] = (ref, idx)

    def _status(self, st: _State, idx: int, rec: dict[str, Any]) -> None:
        to = rec.get("to_status")
        if to != MERGED:
            st.values["status"] = (to, idx, "status_change")
            return
        ev = rec.get("evidence")
        if isinstance(ev, str):
            try:
                ev = json.loads(ev)
            except ValueError:
                ev = None
        into = ev.get("merged_into") if isinstance(ev, dict) else None
        st.values["merged_into"] = (into, idx, "status_change")

    def members(self) -> dict[str, set[int]]:
        """incident -> the observations the facts put in it."""
        out: dict[str, set[int]] = {}
        for o, (ref, _) in self.owner.items():
            out.setdefault(ref, set()).add(o)
        return out


def _same(row_value: Any, want: Any) -> bool:
    if row_value is None or want is None:
        return row_value is None and want is None
    if isinstance(row_value, str) and isinstance(want, dict | list):
        try:
            return bool(json.loads(row_value) == want)
        except ValueError:
            return False
    if isinstance(row_value, int | float) and isinstance(want, int | float):
        return float(row_value) == float(want)
    return bool(row_value == want)


def check_incidents(
    fold: IncidentFold,
    rows: Iterable[Mapping[str, Any]],
    memberships: Iterable[tuple[int, int]],
    explained: set[int] | None = None,
    gaps: Iterable[tuple[int, int]] = (),
) -> list[Issue]:
    """The differences between the folded facts and the ``incidents`` ``rows`` and
    ``(observation_id, incident_id)`` ``memberships`` read (of the folded incidents, or
    all of them when the fold is ``complete``); incidents resting on an entry already
    named (``explained``), or created before entries named missing (``gaps``, ``[lo, hi)``:
    a missing entry may have been one of their facts) are left out: echoes."""
    explained = explained or set()
    last_gap = max((hi for _, hi in gaps), default=-1)
    skip = {
        ref
        for ref, st in fold.states.items()
        if explained.intersection(st.entries) or min(st.entries) < last_gap
    }
    issues: list[Issue] = []
    seen: set[str] = set()
    for row in rows:
        ref = str(row["id"])
        seen.add(ref)
        st = fold.states.get(ref)
        if st is None:
            if fold.complete:
                why = f"incidents row {ref} has no ledger entry"
                issues.append(Issue("unledgered", None, "incident", why))
                skip.add(ref)
            continue
        if ref in skip:
            continue
        issue = _row_issue(ref, row, st)
        if issue is not None:
            issues.append(issue)
    for ref, st in fold.states.items():
        if ref not in seen and ref not in skip:
            first = min(st.entries)
            why = f"incident {ref} is in the ledger but has no incidents row"
            issues.append(Issue("deleted", first, st.first_kind, why))
            skip.add(ref)
    return issues + _membership_issues(fold, memberships, skip)


def _row_issue(ref: str, row: Mapping[str, Any], st: _State) -> Issue | None:
    diffs, first = [], None
    for c, (want, idx, kind) in st.values.items():
        v = row.get(c)
        if not _same(v, want):
            diffs.append(f"{c} is {v!r} in the table but {want!r} in the ledger")
            first = first or (idx, kind)
    if first is None:
        return None
    return Issue("modified", first[0], first[1], f"incidents row {ref}: " + "; ".join(diffs))


def _membership_issues(
    fold: IncidentFold, memberships: Iterable[tuple[int, int]], skip: set[str]
) -> list[Issue]:
    """One problem per incident whose members differ, under the incident the facts name."""
    listed = {ref for ref, st in fold.states.items() if st.members_at is not None}
    wrong: dict[str, list[str]] = {}
    at: dict[str, int | None] = {}
    table: set[int] = set()
    for obs, inc in memberships:
        o, have = int(obs), str(inc)
        table.add(o)
        want = fold.owner.get(o)
        if want is not None and want[0] == have:
            continue
        if want is None and not fold.complete and have not in listed:
            continue  # the facts folded say nothing of this incident's members
        if want is None:
            key, what = have, f"observation {o} is in it, but no entry puts it in an incident"
        else:
            key, what = want[0], f"observation {o} is in incident {have} instead"
        wrong.setdefault(key, []).append(what)
        at[key] = None if want is None else want[1]
    for o, (ref, idx) in fold.owner.items():
        if o not in table:
            wrong.setdefault(ref, []).append(f"observation {o} is in no incident")
            at[ref] = idx
    out = []
    for ref in sorted(wrong, key=lambda r: (len(r), r)):
        if ref in skip:
            continue
        st = fold.states.get(ref)
        where = at[ref] if at[ref] is not None else (st.members_at if st else None)
        what = "; ".join(sorted(wrong[ref]))
        out.append(
            Issue("modified", where, "incident", f"incident_observations of incident {ref}: {what}")
        )
    return out
