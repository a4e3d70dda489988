"""Storing one fusion increment: incidents, memberships, merges, status changes, ledger.

Runs inside the caller's transaction. Every new incident is ledgered (kind
``incident``) with its member observations, and so is every incident whose
membership or fused values changed; every status set, including the first one
of a new incident and the merge of an absorbed incident ("merged into N"), gets a
``status_changes`` row (actor ``fusion``) and a ``status_change`` ledger entry.

The incidents come as columns (one list per field, one value per incident) and are
written with one bulk statement per table; the ledger takes them in one append.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.fusion.lifecycle import after_fusion
from truceline.store import incidents as store
from truceline.store import ledger as log
from truceline.store.db import Connection

__all__ = ["MERGED", "FusedIncidents", "store_increment"]

ACTOR = "fusion"
#: ``to_status`` of the status change that records a merge (the incident keeps its status)
MERGED = "merged"
_NEW = "fused from new observations"
_CHANGED = "evidence changed"


@dataclass(frozen=True, slots=True)
class FusedIncidents:
    """What one fusion run stores.

    ``ukeys`` (ascending) names each incident: an existing id (> 0) or ``-k`` for the
    k-th new one; ``columns`` holds its fused values (lists aligned with ``ukeys``);
    ``members`` its member observation ids (all of them, ascending); ``obs_ids`` are the
    newly fused observations and ``obs_keys`` their incidents' keys."""

    ukeys: NDArray[np.int64]
    columns: Mapping[str, list[Any]]
    status: list[str]
    members: list[list[int]]
    merged: dict[int, int]
    obs_ids: NDArray[np.int64]
    obs_keys: NDArray[np.int64]
    fusion: dict[str, Any]  # the parameters that made them, in each ledger record


def store_increment(conn: Connection, now: int, inc: FusedIncidents) -> list[int]:
    """Store ``inc``; returns the ids of the new incidents, oldest first."""
    ukeys, merged = inc.ukeys, inc.merged
    keys = ukeys.tolist()
    current = store.statuses(conn, [k for k in keys if k > 0] + sorted(merged))
    before = [current.get(k) for k in keys]
    table: dict[tuple[str | None, str], str] = {}
    for pair in set(zip(before, inc.status, strict=True)):
        table[pair] = after_fusion(*pair).value
    final = [table[p] for p in zip(before, inc.status, strict=True)]
    fresh = np.flatnonzero(ukeys < 0)[::-1]  # -1, -2, ...: oldest first
    old = np.flatnonzero(ukeys > 0)
    cols = inc.columns

    def pick(at: NDArray[np.intp], extra: dict[str, Any]) -> dict[str, list[Any]]:
        idx = at.tolist()
        out = {c: [v[i] for i in idx] for c, v in cols.items()}
        out["status"] = [final[i] for i in idx]
        out.update({c: [v] * len(idx) for c, v in extra.items()})
        return out

    new_ids = store.insert_incident_columns(
        conn, pick(fresh, {"created_at": now, "updated_at": now})
    )
    ids = list(keys)
    for i, nid in zip(fresh.tolist(), new_ids, strict=True):
        ids[i] = nid
    store.update_incident_columns(
        conn, [ids[i] for i in old.tolist()], pick(old, {"updated_at": now})
    )
    absorbed = store.member_ids(conn, sorted(merged))  # before their members move to the survivor
    store.move_members(conn, merged)
    id_of = np.asarray(ids, np.int64)[np.searchsorted(ukeys, inc.obs_keys)]
    store.insert_memberships(conn, inc.obs_ids.tolist(), id_of.tolist())
    _ledger_incidents(conn, ids, final, inc)
    changes = _changes(ids, before, final, inc, now)
    for a, s in sorted(merged.items()):
        evidence = {"observations": absorbed.get(a, []), "merged_into": s}
        changes.append(_change(a, current.get(a), MERGED, f"merged into {s}", evidence, now))
    store.mark_merged(conn, merged, now)
    _store_changes(conn, changes)
    return new_ids


def _change(
    incident_id: int, before: str | None, after: str, reason: str, evidence: Any, now: int
) -> dict[str, Any]:
    text = evidence if isinstance(evidence, str) else json.dumps(evidence, sort_keys=True)
    return {
        "incident_id": incident_id,
        "from_status": before,
        "to_status": after,
        "actor": ACTOR,
        "at": now,
        "reason": reason,
        "evidence": text,
    }


def _changes(
    ids: list[int], before: list[str | None], final: list[str], inc: FusedIncidents, now: int
) -> list[dict[str, Any]]:
    """A status change for each incident whose status fusion set or changed; its evidence
    is ``json.dumps({"confidence", "n_groups", "observations"}, sort_keys=True)``, written
    directly (a float's ``repr`` is what ``json`` writes)."""
    conf, groups = inc.columns["confidence"], inc.columns["n_groups"]
    out = []
    for i, (b, f) in enumerate(zip(before, final, strict=True)):
        if b == f:
            continue
        mem = ", ".join(map(str, inc.members[i]))
        evidence = (
            f'{{"confidence": {conf[i]!r}, "n_groups": {groups[i]}, "observations": [{mem}]}}'
        )
        out.append(_change(ids[i], b, f, _NEW if b is None else _CHANGED, evidence, now))
    return out


def _ledger_incidents(
    conn: Connection, ids: list[int], final: list[str], inc: FusedIncidents
) -> None:
    """One ``incident`` entry per incident stored: its fused values (nulls left out), id,
    status, members and the fusion parameters."""
    names = list(inc.columns)
    items = []
    for i, vals in enumerate(zip(*inc.columns.values(), strict=True)):
        rec = {k: v for k, v in zip(names, vals, strict=True) if v is not None}
        rec.update(id=ids[i], status=final[i], observations=inc.members[i], fusion=inc.fusion)
        items.append((str(ids[i]), rec))
    log.append(conn, "incident", items)


def _store_changes(conn: Connection, changes: list[dict[str, Any]]) -> None:
    if not changes:
        return
    items = [
        (str(c["incident_id"]), {k: v for k, v in c.items() if v is not None}) for c in changes
    ]
    for c, idx in zip(changes, log.append(conn, "status_change", items), strict=True):
        c["ledger_index"] = idx
    store.insert_status_changes(conn, changes)
