"""Storing one fusion increment: incidents, memberships, merges, status changes, ledger.

Runs inside the caller's transaction. Every new incident is ledgered (kind
``incident``) with its member observations, and so is every incident whose
membership or fused values changed; every status set, including the first one
of a new incident and the merge of an absorbed incident ("merged into N"), gets a
``status_changes`` row (actor ``fusion``) and a ``status_change`` ledger entry.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.fusion.lifecycle import after_fusion
from truceline.store import incidents as store
from truceline.store import ledger as log
from truceline.store.db import Connection

__all__ = ["MERGED", "store_increment"]

ACTOR = "fusion"
#: ``to_status`` of the status change that records a merge (the incident keeps its status)
MERGED = "merged"


def _insert_new(conn: Connection, rows: list[dict[str, Any]], now: int) -> list[int]:
    for r in rows:
        r["created_at"] = now
    return store.insert_incidents(conn, rows)


def store_increment(
    conn: Connection,
    now: int,
    ukeys: NDArray[np.int64],
    rows: list[dict[str, Any]],
    status: list[str],
    fresh: list[int],
    members: dict[int, list[int]],
    merged: dict[int, int],
    obs_ids: NDArray[np.int64],
    obs_keys: NDArray[np.int64],
    fusion: dict[str, Any],
) -> list[int]:
    """Store the incidents ``ukeys`` (negative = new) with ``rows``; returns the new ids.
    ``fusion`` (the parameters that made them) goes into each incident's ledger record."""
    existing = [int(k) for k in ukeys if k > 0]
    current = store.statuses(conn, existing + sorted(merged))
    final = [after_fusion(current.get(int(k)), status[i]).value for i, k in enumerate(ukeys)]
    new_rows = [{**rows[i], "status": final[i]} for i in fresh]
    new_ids = _insert_new(conn, new_rows, now)
    ids = [int(k) for k in ukeys]
    for i, nid in zip(fresh, new_ids, strict=True):
        ids[i] = nid
    key_to_id = dict(zip((int(k) for k in ukeys), ids, strict=True))
    upd = [{**rows[i], "status": final[i], "b_id": ids[i]} for i, k in enumerate(ukeys) if k > 0]
    store.update_incidents(conn, upd)
    absorbed = store.member_ids(conn, sorted(merged))  # before their members move to the survivor
    _memberships(conn, obs_ids, obs_keys, key_to_id, merged)
    changes: list[dict[str, Any]] = []
    for i, k in enumerate(ukeys):
        before = current.get(int(k))
        if before != final[i]:
            why = "fused from new observations" if before is None else "evidence changed"
            changes.append(_change(ids[i], before, final[i], why, rows[i], members[int(k)], now))
    for a, s in sorted(merged.items()):
        snap = {"merged_into": s}
        why = f"merged into {s}"
        changes.append(_change(a, current.get(a), MERGED, why, snap, absorbed.get(a, []), now))
    _ledger_incidents(conn, ids, rows, final, members, ukeys, fusion)
    store.mark_merged(conn, merged, now)
    _store_changes(conn, changes)
    return new_ids


def _memberships(
    conn: Connection,
    obs_ids: NDArray[np.int64],
    obs_keys: NDArray[np.int64],
    key_to_id: dict[int, int],
    merged: dict[int, int],
) -> None:
    store.move_members(conn, merged)
    store.insert_memberships(conn, obs_ids.tolist(), [key_to_id[int(k)] for k in obs_keys])


def _change(
    incident_id: int,
    before: str | None,
    after: str,
    reason: str,
    snapshot: dict[str, Any],
    member_ids: list[int],
    now: int,
) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "observations": member_ids,
        **{k: snapshot[k] for k in ("n_groups", "confidence", "merged_into") if k in snapshot},
    }
    return {
        "incident_id": incident_id,
        "from_status": before,
        "to_status": after,
        "actor": ACTOR,
        "at": now,
        "reason": reason,
        "evidence": json.dumps(evidence, sort_keys=True),
    }


def _ledger_incidents(
    conn: Connection,
    ids: list[int],
    rows: list[dict[str, Any]],
    status: list[str],
    members: dict[int, list[int]],
    ukeys: NDArray[np.int64],
    fusion: dict[str, Any],
) -> None:
    items = []
    for i, k in enumerate(ukeys):
        rec = {kk: v for kk, v in rows[i].items() if v is not None and kk != "updated_at"}
        rec.update(id=ids[i], status=status[i], observations=members[int(k)], fusion=fusion)
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
