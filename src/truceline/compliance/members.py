"""What an incident's observations add to its columns, from arrays of its members.

The store sends the observations of a span's incidents as columns: the incident's
id, the observation's ledger index and whether its source is not a party, and apart
from these the few observations whose ``attrs`` mention a fact a rule reads.
:func:`member_facts` turns these into the incident columns ``state``, ``role``,
``nonparty``, ``direction`` and ``inspected`` (one pass over the few ``attrs``,
array work for the rest); :class:`Members` gives the ledger leaves of any incidents,
the evidence a finding cites.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Members", "ObservationFacts", "member_facts"]

IntArray = npt.NDArray[np.int64]


@dataclass
class ObservationFacts:
    """What the observations of one incident say beyond the fused columns."""

    state: str | None = None
    role: str | None = None
    fire: Counter[str] = field(default_factory=Counter)
    azimuths: list[float] = field(default_factory=list)
    inspected: dict[str, int] = field(default_factory=dict)  # per weapon class, the most counted

    def inspected_json(self) -> str | None:
        """An inspection's counts per weapon class as JSON (None if no inspection)."""
        return json.dumps(self.inspected, sort_keys=True) if self.inspected else None

    def direction(self) -> str | None:
        """``outgoing``, ``incoming`` (most reported first), with the mean azimuth of fire."""
        words = [w for w, _ in self.fire.most_common()]
        if self.azimuths:
            words.append(f"azimuth {sum(self.azimuths) / len(self.azimuths):.0f} deg")
        return ", ".join(words) or None

    def read(self, attrs: str | None) -> None:
        """Add what one observation's ``attrs`` (JSON text) state; anything else is ignored."""
        try:
            doc = json.loads(attrs) if attrs else {}
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        if doc.get("state") and self.state is None:
            self.state = str(doc["state"])
        if doc.get("role") and self.role is None:
            self.role = str(doc["role"])
        if doc.get("fire") in ("outgoing", "incoming"):
            self.fire[str(doc["fire"])] += 1
        counted = doc.get("inspected")
        if isinstance(counted, dict):  # checked at intake: weapon class -> whole number
            for cls, n in counted.items():
                if isinstance(n, int) and not isinstance(n, bool):
                    self.inspected[str(cls)] = max(n, self.inspected.get(str(cls), n))
        az = doc.get("fire_azimuth_deg")
        if isinstance(az, int | float) and not isinstance(az, bool) and 0 <= az <= 360:
            self.azimuths.append(float(az))


class Members:
    """The observations of a set of incidents, as arrays sorted by incident."""

    def __init__(self, incident: npt.ArrayLike, leaf: pa.Array | pa.ChunkedArray) -> None:
        inc = np.asarray(incident, dtype=np.int64)
        lv = np.asarray(pc.fill_null(leaf, -1), dtype=np.int64)
        order = None if _ascending(inc) else np.argsort(inc, kind="stable")
        self.incident: IntArray = inc if order is None else inc[order]
        self.leaf: IntArray = lv if order is None else lv[order]
        # each incident once, where its observations start, and how many there are
        first = np.ones(len(inc), dtype=bool)
        first[1:] = self.incident[1:] != self.incident[:-1]
        starts = np.flatnonzero(first)
        self._ids: IntArray = self.incident[starts]
        self._start: IntArray = starts.astype(np.int64)
        self._count: IntArray = np.diff(np.append(starts, len(inc))).astype(np.int64)

    def __len__(self) -> int:
        return len(self.incident)

    def leaves(self, incident_ids: Sequence[int]) -> list[int]:
        """The ledger indices of these incidents' observations, sorted, once each."""
        return self.leaf_array(incident_ids).tolist()  # type: ignore[no-any-return]

    def leaf_array(self, incident_ids: Sequence[int]) -> IntArray:
        """:meth:`leaves` as an array."""
        ids = np.asarray(incident_ids, dtype=np.int64)
        ids = ids if _ascending(ids, strict=True) else np.unique(ids)
        if not len(self._ids) or not len(ids):
            return np.zeros(0, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._ids, ids), len(self._ids) - 1)
        at = at[self._ids[at] == ids]
        lo, n = self._start[at], self._count[at]
        total = int(n.sum())
        # positions lo[k] .. lo[k] + n[k] - 1 of every incident k, in one array
        pos = np.repeat(lo - np.cumsum(n) + n, n) + np.arange(total)
        found = self.leaf[pos]
        found = found[found >= 0]
        # an observation has one leaf: sorted and distinct already when stored in order
        return found if _ascending(found, strict=True) else np.unique(found)


def _ascending(a: IntArray, strict: bool = False) -> bool:
    if len(a) < 2:
        return True
    return bool(np.all(a[1:] > a[:-1]) if strict else np.all(a[1:] >= a[:-1]))


def member_facts(
    ids: IntArray,
    incident: IntArray,
    party: IntArray,
    said: pa.Table,
) -> dict[str, pa.Array]:
    """The incident columns the observations give, aligned with ``ids`` (sorted incident
    ids), from the incident of each observation (in any order), of each observation from
    a party, and the rows ``said`` (``incident_id``, ``observation_id``, ``attrs``) of
    the observations whose ``attrs`` may state a fact: ``nonparty`` counts the
    observations from a source that is not a party (0 for an incident without any); the
    others are null unless some ``attrs`` say (read in the order of observation ids).
    Observations of incidents not in ``ids`` are left out."""
    n = len(ids)
    counts = _counts(ids, incident) - _counts(ids, party)
    facts: dict[int, ObservationFacts] = {}
    said_pos = _positions(ids, np.asarray(said.column("incident_id"), dtype=np.int64))
    rows = [
        r
        for r in zip(
            said_pos.tolist(),
            said.column("observation_id").to_pylist(),
            said.column("attrs").to_pylist(),
            strict=True,
        )
        if r[0] >= 0 and r[2] is not None
    ]
    for p, _, text in sorted(rows, key=lambda r: (r[0], r[1])):
        facts.setdefault(p, ObservationFacts()).read(text)
    state: list[str | None] = [None] * n
    role: list[str | None] = [None] * n
    direction: list[str | None] = [None] * n
    inspected: list[str | None] = [None] * n
    for p, f in facts.items():
        state[p], role[p] = f.state, f.role
        direction[p], inspected[p] = f.direction(), f.inspected_json()
    return {
        "state": pa.array(state, pa.string()),
        "role": pa.array(role, pa.string()),
        "nonparty": pa.array(counts, pa.int64()),
        "direction": pa.array(direction, pa.string()),
        "inspected": pa.array(inspected, pa.string()),
    }


def _counts(ids: IntArray, incident: IntArray) -> IntArray:
    """How many of ``incident`` there are of each of ``ids`` (sorted)."""
    pos = _positions(ids, incident)
    return np.bincount(pos[pos >= 0], minlength=len(ids))[: len(ids)].astype(np.int64)


def _positions(ids: IntArray, incident: IntArray) -> IntArray:
    """The position in ``ids`` (sorted) of each of ``incident``, -1 where it is not there."""
    n = len(ids)
    if not n:
        return np.full(len(incident), -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(ids, incident), n - 1)
    return np.where(ids[pos] == incident, pos, -1).astype(np.int64)
