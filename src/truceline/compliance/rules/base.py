"""The columns the rules read and the findings they return.

A rule is a pure function ``(rule, ctx) -> list[Finding]``. ``ctx`` carries the
agreement version in force, the incidents of that version's time span as
columns (pyarrow + numpy), the zone classification of those incidents, the
declarations and the notification register. Rules never touch the store.

Responsibility is placed only where the evidence places it (:func:`place`):
an attributed incident (an ``actor`` with enough confidence) goes to that
party; a presence (a weapon or unit *seen*, not fire whose origin is unknown)
goes to the party holding the ground when its whole uncertainty circle lies
on that party's side of the contact line. Everything else has no party.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from truceline.domain.vocab import IncidentStatus, ObservationKind

__all__ = [
    "INCIDENT_COLUMNS",
    "PRESENCE_KINDS",
    "STATUS_WEIGHT",
    "Context",
    "Declaration",
    "Finding",
    "Incidents",
    "Notifications",
    "ZoneView",
    "confidence_of",
    "place",
]

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: kinds that show where a force *is* (fire shows where a round landed, not its origin)
PRESENCE_KINDS = frozenset(
    {ObservationKind.WEAPON_SIGHTING, ObservationKind.MOVEMENT, ObservationKind.FOREIGN_UNIT}
)
#: weight of each verification status in a finding's confidence (verified > corroborated > reported)
STATUS_WEIGHT: dict[str, float] = {
    IncidentStatus.VERIFIED: 1.0,
    IncidentStatus.CORROBORATED: 0.8,
    IncidentStatus.REPORTED: 0.5,
    IncidentStatus.DISPUTED: 0.25,
    IncidentStatus.REJECTED: 0.0,
}
#: an incident's actor counts as evidence of responsibility from this confidence up
MIN_ACTOR_CONFIDENCE = 0.5

INCIDENT_COLUMNS: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "t": pa.int64(),
    "lon": pa.float64(),
    "lat": pa.float64(),
    "radius_m": pa.float64(),
    "kind": pa.string(),
    "weapon_class": pa.string(),
    "count": pa.int64(),
    "status": pa.string(),
    "confidence": pa.float64(),
    "actor": pa.string(),
    "actor_confidence": pa.float64(),
    "actor_basis": pa.string(),
    "side": pa.string(),
    "state": pa.string(),  # foreign state of a foreign_unit incident, from its observations
}


class Incidents:
    """Incident columns: a pyarrow table plus numpy views of the numeric columns."""

    def __init__(self, table: pa.Table) -> None:
        missing = [c for c in INCIDENT_COLUMNS if c not in table.column_names]
        for name in missing:
            table = table.append_column(name, pa.nulls(table.num_rows, INCIDENT_COLUMNS[name]))
        table = table.select(list(INCIDENT_COLUMNS)).cast(pa.schema(INCIDENT_COLUMNS))
        state = pc.utf8_upper(table.column("state"))  # ISO state codes compare upper case
        self.table = table.set_column(table.column_names.index("state"), "state", state)
        self.id: IntArray = self._num("id", 0).astype(np.int64)
        self.t: IntArray = self._num("t", 0).astype(np.int64)
        self.lon: FloatArray = self._num("lon", np.nan)
        self.lat: FloatArray = self._num("lat", np.nan)
        self.radius_m: FloatArray = self._num("radius_m", 0.0)
        self.confidence: FloatArray = self._num("confidence", 0.0)
        self.actor_confidence: FloatArray = self._num("actor_confidence", 0.0)
        self.count: IntArray = self._num("count", 1).astype(np.int64)

    def _num(self, name: str, fill: float) -> FloatArray:
        col = pc.fill_null(self.table.column(name), fill)
        return np.asarray(col.to_numpy(), dtype=np.float64)

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def isin(self, name: str, values: Iterable[str]) -> BoolArray:
        """Rows whose string column ``name`` is one of ``values`` (null is never in)."""
        vals = pa.array(sorted({str(v) for v in values}), pa.string())
        mask = pc.fill_null(pc.is_in(self.table.column(name), value_set=vals), False)
        return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)

    def str_at(self, name: str, i: int) -> str | None:
        v = self.table.column(name)[i].as_py()
        return None if v is None else str(v)

    def filter(self, mask: BoolArray) -> Incidents:
        return Incidents(self.table.filter(pa.array(mask)))


class ZoneView:
    """Where each incident lies: the party holding the ground, distance to the line, zones."""

    def __init__(
        self,
        party: npt.NDArray[np.int64],
        parties: Sequence[str],
        dist_km: FloatArray,
        zone_ids: Sequence[str],
        zones: BoolArray,
    ) -> None:
        self.party = np.asarray(party, dtype=np.int64)
        self.parties = tuple(parties)
        self.dist_km = np.asarray(dist_km, dtype=np.float64)
        self.zone_ids = tuple(zone_ids)
        self.zones = np.asarray(zones, dtype=bool).reshape(len(self.party), len(self.zone_ids))
        self._col = {z: i for i, z in enumerate(self.zone_ids)}

    def inside(self, zone_id: str) -> BoolArray:
        i = self._col.get(zone_id)
        if i is None:
            return np.zeros(len(self.party), dtype=bool)
        col: BoolArray = self.zones[:, i]
        return col

    def held_by(self, party: str) -> BoolArray:
        if party not in self.parties:
            return np.zeros(len(self.party), dtype=bool)
        held: BoolArray = self.party == self.parties.index(party)
        return held

    def party_at(self, i: int) -> str | None:
        k = int(self.party[i])
        return self.parties[k] if k >= 0 else None


@dataclass(frozen=True, slots=True)
class Declaration:
    id: int
    party: str | None
    declarant: str
    subject: str
    item: str
    period_start: int
    period_end: int
    value: float
    unit: str
    filed_at: int
    ledger_index: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Notifications:
    """Notified activities (the deconfliction register when it lands): plain columns."""

    party: tuple[str, ...] = ()
    activity: tuple[str, ...] = ()
    t_start: tuple[int, ...] = ()
    t_end: tuple[int, ...] = ()
    filed_at: tuple[int, ...] = ()
    bbox: tuple[tuple[float, float, float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule broken, or possibly broken, with its evidence."""

    rule_id: str
    rule_kind: str
    agreement_id: str
    agreement_version: int
    anchor: str  # what the breach is about: an incident, a party's period, ...
    period_start: int
    period_end: int
    party: str | None
    party_basis: str | None
    severity: str  # low | medium | high
    confidence: float
    summary: str
    incidents: tuple[int, ...] = ()
    declarations: tuple[int, ...] = ()
    ledger: tuple[int, ...] = ()
    lon: float | None = None
    lat: float | None = None

    @property
    def key(self) -> str:
        """Idempotency key: the rule and the anchor of its evidence (not the evidence's size)."""
        doc = json.dumps([self.agreement_id, self.rule_id, self.anchor], separators=(",", ":"))
        return hashlib.sha256(doc.encode()).hexdigest()

    def evidence(self) -> dict[str, list[int]]:
        return {
            "incidents": sorted(self.incidents),
            "declarations": sorted(self.declarations),
            "ledger": sorted(self.ledger),
        }


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a rule may read, for one agreement version."""

    agreement: Any  # truceline.compliance.agreement.Agreement
    incidents: Incidents
    view: ZoneView
    declarations: tuple[Declaration, ...] = ()
    notifications: Notifications = Notifications()
    t_from: int = 0
    t_to: int = 2**62  # exclusive end of the checked span (and "now" for missing duties)


def confidence_of(status: str | None, confidence: float) -> float:
    """A finding's confidence from one incident: status weight times the incident's confidence."""
    w = STATUS_WEIGHT.get(status or "", 0.5)
    c = 0.0 if not np.isfinite(confidence) else min(max(float(confidence), 0.0), 1.0)
    return round(w * c, 4)


def place(inc: Incidents, view: ZoneView, i: int) -> tuple[str | None, str | None]:
    """The party the evidence places incident ``i`` on, and the basis; else (None, None)."""
    actor = inc.str_at("actor", i)
    if actor and inc.actor_confidence[i] >= MIN_ACTOR_CONFIDENCE:
        basis = inc.str_at("actor_basis", i) or "attributed by fusion"
        conf = inc.actor_confidence[i]
        return actor, f"incident {inc.id[i]} attributed to {actor} ({basis}; confidence {conf:.2f})"
    kind = inc.str_at("kind", i)
    holder = view.party_at(i)
    margin_m = view.dist_km[i] * 1000.0 - inc.radius_m[i]
    if kind in PRESENCE_KINDS and holder is not None and np.isfinite(margin_m) and margin_m > 0:
        return holder, (
            f"{kind} seen inside the area held by {holder}, {view.dist_km[i]:.1f} km from the "
            f"contact line; its whole uncertainty circle (radius {inc.radius_m[i]:.0f} m) "
            f"lies on {holder}'s side"
        )
    return None, None
