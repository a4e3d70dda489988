"""Storing one fusion increment: incidents, memberships, merges, status changes, ledger.

Runs inside the caller's transaction. Every new incident is ledgered (kind
``incident``) with its member observations, and so is every incident whose
membership or fused values changed; every status set, including the first one
of a new incident and the merge of an absorbed incident ("merged into N"), gets a
``status_changes`` row (actor ``fusion``) and a ``status_change`` ledger entry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, bindparam, select, update

from truceline.fusion.lifecycle import after_fusion
from truceline.store import ledger as log
from truceline.store.schema import incident_observations, incidents, status_changes

__all__ = ["MERGED", "store_increment"]

ACTOR = "fusion"
#: ``to_status`` of the status change that records a merge (the incident keeps its status)
MERGED = "merged"
_IN_CHUNK = 900


def _current(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    c = incidents.c
    for s in range(0, len(ids), _IN_CHUNK):
        q = select(c.id, c.status).where(c.id.in_(list(ids[s : s + _IN_CHUNK])))
        out.update({int(i): str(st) for i, st in conn.execute(q)})
    return out


def _members(conn: Connection, ids: Sequence[int]) -> dict[int, list[int]]:
    """Member observation ids of each incident in ``ids``, ascending."""
    io = incident_observations.c
    out: dict[int, list[int]] = {}
    for s in range(0, len(ids), _IN_CHUNK):
        q = select(io.incident_id, io.observation_id).where(
            io.incident_id.in_(list(ids[s : s + _IN_CHUNK]))
        )
        for i, o in conn.execute(q.order_by(io.observation_id)):
            out.setdefault(int(i), []).append(int(o))
    return out


def _insert_new(conn: Connection, rows: list[dict[str, Any]], now: int) -> list[int]:
    if not rows:
        return []
    for r in rows:
        r["created_at"] = now
    q = incidents.insert().returning(incidents.c.id, sort_by_parameter_order=True)
    return [int(i) for (i,) in conn.execute(q, rows)]


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
) -> list[int]:
    """Store the incidents ``ukeys`` (negative = new) with ``rows``; returns the new ids."""
    existing = [int(k) for k in ukeys if k > 0]
    current = _current(conn, existing + sorted(merged))
    final = [after_fusion(current.get(int(k)), status[i]).value for i, k in enumerate(ukeys)]
    new_rows = [{**rows[i], "status": final[i]} for i in fresh]
    new_ids = _insert_new(conn, new_rows, now)
    ids = [int(k) for k in ukeys]
    for i, nid in zip(fresh, new_ids, strict=True):
        ids[i] = nid
    key_to_id = dict(zip((int(k) for k in ukeys), ids, strict=True))
    upd = [{**rows[i], "status": final[i], "b_id": ids[i]} for i, k in enumerate(ukeys) if k > 0]
    if upd:
        c = incidents.c
        stmt = update(incidents).where(c.id == bindparam("b_id"))
        conn.execute(stmt, upd)
    absorbed = _members(conn, sorted(merged))  # before their members move to the survivor
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
    _ledger_incidents(conn, ids, rows, final, members, ukeys)
    if merged:
        conn.execute(
            update(incidents).where(incidents.c.id == bindparam("b_id")),
            [{"b_id": a, "merged_into": s, "updated_at": now} for a, s in merged.items()],
        )
    _store_changes(conn, changes)
    return new_ids


def _memberships(
    conn: Connection,
    obs_ids: NDArray[np.int64],
    obs_keys: NDArray[np.int64],
    key_to_id: dict[int, int],
    merged: dict[int, int],
) -> None:
    io = incident_observations
    if merged:
        conn.execute(
            update(io).where(io.c.incident_id == bindparam("b_from")),
            [{"b_from": a, "incident_id": s} for a, s in merged.items()],
        )
    rows = [
        {"observation_id": int(o), "incident_id": key_to_id[int(k)]}
        for o, k in zip(obs_ids, obs_keys, strict=True)
    ]
    if rows:
        conn.execute(io.insert(), rows)


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
) -> None:
    items = []
    for i, k in enumerate(ukeys):
        rec = {kk: v for kk, v in rows[i].items() if v is not None and kk != "updated_at"}
        rec.update(id=ids[i], status=status[i], observations=members[int(k)])
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
    conn.execute(status_changes.insert(), changes)
