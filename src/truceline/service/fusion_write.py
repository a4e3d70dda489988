"""Storing one fusion increment: incidents, memberships, merges, status changes, ledger.

Runs inside the caller's transaction. Every new incident is ledgered (kind
``incident``) with its member observations, and so is every incident whose
membership or fused values changed; every status set, including the first one
of a new incident and the merge of an absorbed incident ("merged into N"), gets a
``status_changes`` row (actor ``fusion``) and a ``status_change`` ledger entry.

The incidents come as columns (one list per field, one value per incident) and are
written with one bulk statement per table; their ledger records are made as columns
too (``ledger.columnar``: the bytes ``ledger.log.entry_data`` gives record by record)
and appended at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from truceline.fusion.lifecycle import after_fusion
from truceline.ledger.canonical import canonical_bytes
from truceline.ledger.columnar import canonical_rows, entry_rows
from truceline.store import fusion as fs
from truceline.store import incidents as store
from truceline.store import ledger as log
from truceline.store.db import Connection

__all__ = ["MERGED", "FusedIncidents", "store_increment"]

ACTOR = "fusion"
#: ``to_status`` of the status change that records a merge (the incident keeps its status)
MERGED = "merged"
_NEW = "fused from new observations"
_TYPES = {"t": pa.int64(), "t_start": pa.int64(), "t_end": pa.int64(), "lon": pa.float64(),
          "lat": pa.float64(), "radius_m": pa.float64(), "kind": pa.string(),
          "weapon_class": pa.string(), "count": pa.int64(), "n_observations": pa.int64(),
          "n_groups": pa.int64(), "confidence": pa.float64(), "sector": pa.string(),
          "ellipse": pa.string()}  # fmt: skip
_CHANGED = "evidence changed"


@dataclass(frozen=True, slots=True)
class FusedIncidents:
    """What one fusion run stores.

    ``ukeys`` (ascending) names each incident: an existing id (> 0) or ``-k`` for the
    k-th new one; ``columns`` holds its fused values (lists aligned with ``ukeys``);
    ``member_ids`` its member observations (all of them: incident by incident, ascending),
    ``member_ends`` where each incident's end in it; ``obs_ids`` are the newly fused
    observations and ``obs_keys`` their incidents' keys."""

    ukeys: NDArray[np.int64]
    columns: Mapping[str, list[Any]]
    status: list[str]
    member_ids: NDArray[np.int64]
    member_ends: NDArray[np.int64]
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
    fs.insert_memberships(conn, inc.obs_ids, id_of)
    _ledger_incidents(conn, ids, final, inc, now)
    changes = _changes(ids, before, final, inc, now)
    for a, s in sorted(merged.items()):
        evidence = {"observations": absorbed.get(a, []), "merged_into": s}
        changes.append(_change(a, current.get(a), MERGED, f"merged into {s}", evidence, now))
    store.mark_merged(conn, merged, now)
    _store_changes(conn, changes, now)
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
    flat, ends = inc.member_ids.tolist(), inc.member_ends.tolist()
    out = []
    for i, (b, f) in enumerate(zip(before, final, strict=True)):
        if b == f:
            continue
        mem = ", ".join(map(str, flat[ends[i - 1] if i else 0 : ends[i]]))
        evidence = (
            f'{{"confidence": {conf[i]!r}, "n_groups": {groups[i]}, "observations": [{mem}]}}'
        )
        out.append(_change(ids[i], b, f, _NEW if b is None else _CHANGED, evidence, now))
    return out


def _ledger_incidents(
    conn: Connection, ids: list[int], final: list[str], inc: FusedIncidents, now: int
) -> None:
    """One ``incident`` entry per incident stored: its fused values (nulls left out), id,
    status, members and the fusion parameters."""
    cols = {k: pa.array(v, _TYPES.get(k)) for k, v in inc.columns.items()}
    n = len(ids)
    cols["id"] = pa.array(ids, pa.int64())
    cols["status"] = pa.array(final, pa.string())
    flat = pa.array(inc.member_ids, pa.int64()).cast(pa.string())
    offsets = pa.array(np.concatenate([[0], inc.member_ends]).astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, flat)
    cols["observations"] = pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")
    fusion = canonical_bytes(inc.fusion).decode()
    cols["fusion"] = pa.repeat(pa.scalar(fusion, pa.string()), n)
    records = canonical_rows(cols, raw={"observations", "fusion"})
    refs = cols["id"].cast(pa.string())
    datas = entry_rows("incident", refs, records, now).to_pylist()
    log.append_data(conn, "incident", refs.to_pylist(), datas, now)


def _store_changes(conn: Connection, changes: list[dict[str, Any]], now: int) -> None:
    """The status changes and their ``status_change`` entries (nulls left out)."""
    if not changes:
        return
    names = list(changes[0])
    cols = {k: [c[k] for c in changes] for k in names}
    arrays = {k: pa.array(v, pa.int64() if k in ("incident_id", "at") else pa.string())
              for k, v in cols.items()}  # fmt: skip
    refs = arrays["incident_id"].cast(pa.string())
    datas = entry_rows("status_change", refs, canonical_rows(arrays), now).to_pylist()
    idx = log.append_data(conn, "status_change", refs.to_pylist(), datas, now)
    cols["ledger_index"] = list(idx)
    store.insert_status_change_columns(conn, cols)
