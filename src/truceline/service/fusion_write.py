"""Storing one fusion increment: incidents, memberships, merges, status changes, ledger.

Runs inside the caller's transaction. Every new incident is ledgered (kind
``incident``) with its member observations, and so is every incident whose
membership or fused values changed; every status set, including the first one
of a new incident and the merge of an absorbed incident ("merged into N"), gets a
``status_changes`` row (actor ``fusion``) and a ``status_change`` ledger entry.
Each incident's side of the line is stored in its row and ledgered
(``incident_side``) by :func:`ledger_sides`, after its ``incident`` entry, which
clears it.

The incidents come as columns (one array per field, one value per incident) and are
written a chunk of ``_CHUNK`` at a time, with one bulk statement per table; their
ledger records and status changes are made as columns too (``ledger.columnar``: the
bytes ``ledger.log.entry_data`` gives record by record) and appended a chunk at once,
so a million observations never stand as Python rows all together.
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
from truceline.service import incidents
from truceline.store import fusion as fs
from truceline.store import incidents as store
from truceline.store import ledger as log
from truceline.store.db import Connection

__all__ = ["MERGED", "SIDE", "FusedIncidents", "ledger_sides", "store_increment"]

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
SIDE = "side"  # stored in the row and ledgered as its own fact (``incident_side``)


@dataclass(frozen=True, slots=True)
class FusedIncidents:
    """What one fusion run stores.

    ``ukeys`` (ascending) names each incident: an existing id (> 0) or ``-k`` for the
    k-th new one; ``columns`` holds its fused values (lists aligned with ``ukeys``);
    ``member_ids`` its member observations (all of them: incident by incident, ascending),
    ``member_ends`` where each incident's end in it; ``obs_ids`` are the newly fused
    observations and ``obs_keys`` their incidents' keys."""

    ukeys: NDArray[np.int64]
    columns: Mapping[str, NDArray[Any]]
    status: list[str]
    member_ids: NDArray[np.int64]
    member_ends: NDArray[np.int64]
    merged: dict[int, int]
    obs_ids: NDArray[np.int64]
    obs_keys: NDArray[np.int64]
    fusion: dict[str, Any]  # the parameters that made them, in each ledger record


_CHUNK = 32_768  # incidents stored (rows, ledger entries) at a time: memory stays flat


def store_increment(
    conn: Connection, now: int, inc: FusedIncidents
) -> tuple[list[int], NDArray[np.int64]]:
    """Store ``inc``; returns the ids of the new incidents, oldest first, and the id of
    every incident of ``inc`` (aligned with ``ukeys``). The incidents are stored a chunk
    at a time, new ones oldest first, then the updated ones: each chunk's rows (with
    their side), its ``incident`` entries, its status changes and their entries. The
    sides' entries are :func:`ledger_sides`'."""
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
    ids = np.where(ukeys > 0, ukeys, 0)
    for start in range(0, len(fresh), _CHUNK):
        at = fresh[start : start + _CHUNK]
        cols = _pick(inc.columns, final, at, {"created_at": now, "updated_at": now})
        ids[at] = store.insert_incident_columns(conn, cols)
        _ledger_and_changes(conn, at, ids, before, final, inc, now)
    for start in range(0, len(old), _CHUNK):
        at = old[start : start + _CHUNK]
        cols = _pick(inc.columns, final, at, {"updated_at": now})
        store.update_incident_columns(conn, ids[at].tolist(), cols)
        _ledger_and_changes(conn, at, ids, before, final, inc, now)
    absorbed = store.member_ids(conn, sorted(merged))  # before their members move to the survivor
    store.move_members(conn, merged)
    fs.insert_memberships(conn, inc.obs_ids, ids[np.searchsorted(ukeys, inc.obs_keys)])
    changes = []
    for a, s in sorted(merged.items()):
        evidence = {"observations": absorbed.get(a, []), "merged_into": s}
        changes.append(_change(a, current.get(a), MERGED, f"merged into {s}", evidence, now))
    store.mark_merged(conn, merged, now)
    _store_changes(conn, {k: [c[k] for c in changes] for k in _CHANGE_COLS}, now)
    new_ids: list[int] = ids[fresh].tolist()
    return new_ids, ids


def ledger_sides(conn: Connection, inc: FusedIncidents, ids: NDArray[np.int64], now: int) -> None:
    """The ``incident_side`` entries of the incidents of ``inc`` (``ids``) that have a
    side; they follow the ``incident`` entries, which clear it."""
    sides = pa.array(inc.columns[SIDE], pa.string())
    incidents.ledger_sides(conn, pa.array(ids, pa.int64()), sides, now)


def _pick(
    columns: Mapping[str, NDArray[Any]], final: list[str], at: NDArray[np.intp],
    extra: dict[str, Any],
) -> dict[str, list[Any]]:  # fmt: skip
    """The rows ``at`` of the incident columns, as lists, with their final status."""
    out = {c: v[at].tolist() for c, v in columns.items()}
    out["status"] = [final[i] for i in at.tolist()]
    out.update({c: [v] * len(at) for c, v in extra.items()})
    return out


def _ledger_and_changes(
    conn: Connection, at: NDArray[np.intp], ids: NDArray[np.int64], before: list[str | None],
    final: list[str], inc: FusedIncidents, now: int,
) -> None:  # fmt: skip
    """The ``incident`` entries of the incidents ``at`` (positions in ``inc``), then the
    status changes of those whose status fusion set or changed, with their entries."""
    lo = np.concatenate([[0], inc.member_ends[:-1]])[at]
    hi = inc.member_ends[at]
    counts = hi - lo
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    flat = inc.member_ids[np.repeat(lo, counts) + _ramp(counts)]
    lists = pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(flat, pa.int64()).cast(pa.string())
    )
    members = pc.binary_join(lists, ",")  # "1,2,3"
    status = [final[i] for i in at.tolist()]
    _ledger_incidents(conn, ids[at], status, inc, at, members, now)
    prior = [before[i] for i in at.tolist()]
    moved = [k for k, (b, f) in enumerate(zip(prior, status, strict=True)) if b != f]
    if not moved:
        return
    sel = np.asarray(moved, np.intp)
    repr_conf = [repr(c) for c in inc.columns["confidence"][at[sel]].tolist()]
    groups = pa.array(inc.columns["n_groups"][at[sel]], pa.int64()).cast(pa.string())
    listed = pc.replace_substring(members.take(pa.array(sel)), ",", ", ")
    parts = (pa.array(repr_conf, pa.string()), groups, listed)
    k = len(moved)
    cols: dict[str, list[Any]] = {
        "incident_id": ids[at[sel]].tolist(),
        "from_status": [prior[i] for i in moved],
        "to_status": [status[i] for i in moved],
        "actor": [ACTOR] * k,
        "at": [now] * k,
        "reason": [_NEW if prior[i] is None else _CHANGED for i in moved],
        "evidence": _evidence(parts, '"').to_pylist(),
    }
    # as a JSON string in the ledger record: its only characters to escape are the quotes
    quoted = pc.binary_join_element_wise('"', _evidence(parts, '\\"'), '"', "")
    _store_changes(conn, cols, now, quoted)


def _evidence(parts: tuple[pa.Array, pa.Array, pa.Array], q: str) -> pa.Array:
    """``json.dumps({"confidence", "n_groups", "observations"}, sort_keys=True)`` of each
    status change from the texts of its ``parts``, every quote written as ``q``."""
    conf, groups, listed = parts
    return pc.binary_join_element_wise(
        f"{{{q}confidence{q}: ", conf, f", {q}n_groups{q}: ", groups,
        f", {q}observations{q}: [", listed, "]}", "",
    )  # fmt: skip


def _ramp(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """``0..c-1`` for each count ``c``, concatenated."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts


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


def _ledger_incidents(
    conn: Connection, ids: NDArray[np.int64], final: list[str], inc: FusedIncidents,
    at: NDArray[np.intp], members: pa.Array, now: int,
) -> None:  # fmt: skip
    """One ``incident`` entry per incident ``at``: its fused values (nulls left out), id,
    status, members and the fusion parameters."""
    cols = {k: pa.array(v[at], _TYPES.get(k), from_pandas=True)
            for k, v in inc.columns.items() if k != SIDE}  # fmt: skip
    n = len(ids)
    cols["id"] = pa.array(ids, pa.int64())
    cols["status"] = pa.array(final, pa.string())
    cols["observations"] = pc.binary_join_element_wise("[", members, "]", "")
    fusion = canonical_bytes(inc.fusion).decode()
    cols["fusion"] = pa.repeat(pa.scalar(fusion, pa.string()), n)
    records = canonical_rows(cols, raw={"observations", "fusion"})
    refs = cols["id"].cast(pa.string())
    datas = entry_rows("incident", refs, records, now).to_pylist()
    log.append_data(conn, "incident", refs.to_pylist(), datas, now)


_CHANGE_COLS = ("incident_id", "from_status", "to_status", "actor", "at", "reason", "evidence")


def _store_changes(
    conn: Connection, cols: dict[str, list[Any]], now: int, evidence_json: pa.Array | None = None
) -> None:
    """The status changes (columns ``_CHANGE_COLS``) and their ``status_change`` entries
    (nulls left out); ``evidence_json``, when given, is each evidence as a canonical JSON
    string already."""
    if not cols["incident_id"]:
        return
    arrays = {k: pa.array(v, pa.int64() if k in ("incident_id", "at") else pa.string())
              for k, v in cols.items()}  # fmt: skip
    raw = set()
    if evidence_json is not None:
        arrays["evidence"], raw = evidence_json, {"evidence"}
    refs = arrays["incident_id"].cast(pa.string())
    datas = entry_rows("status_change", refs, canonical_rows(arrays, raw), now).to_pylist()
    idx = log.append_data(conn, "status_change", refs.to_pylist(), datas, now)
    store.insert_status_change_columns(conn, {**cols, "ledger_index": list(idx)})
