"""The columns the rules read and the findings they return.

A rule is a pure function ``(rule, ctx) -> list[Finding]``. ``ctx`` carries the
agreement version in force, the incidents of that version's time span as
columns (pyarrow + numpy), the zone classification of those incidents, the
declarations and the notification register. Rules never touch the store.

Responsibility is placed only where the evidence places it (``_incident.placement``):
an attributed incident (an ``actor`` with enough confidence) goes to that
party; a presence (a weapon or unit *seen*, not fire whose origin is unknown)
goes to the party holding the ground when its whole uncertainty circle lies
on that party's side of the contact line. Everything else has no party.
Incident rules group what they select into one finding per rule, subject, UTC
day, reporting sector and party placed (``rules._incident``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from truceline.compliance.wording import Wording
from truceline.domain.vocab import IncidentStatus, ObservationKind

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Agreement

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
    "finding_key",
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
    "state": pa.string(),  # foreign state of a foreign_unit incident, from its observations
    "nonparty": pa.int64(),  # observations from sources that are not a party (null: unknown)
    "direction": pa.string(),  # fire: "outgoing"/"incoming", azimuth, from its observations
    "role": pa.string(),  # a foreign presence's role (mission, attache, agreed_force, ...)
    "inspected": pa.string(),  # an inspection's counts per weapon class (JSON), from attrs
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
        #: observations of the incident from sources other than the parties (unknown: 1)
        self.nonparty: IntArray = self._num("nonparty", 1).astype(np.int64)
        self._codes: dict[str, tuple[npt.NDArray[np.int64], list[str]]] = {}

    def _num(self, name: str, fill: float) -> FloatArray:
        col = pc.fill_null(self.table.column(name), fill)
        return np.asarray(col.to_numpy(), dtype=np.float64)

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def codes(self, name: str) -> tuple[npt.NDArray[np.int64], list[str]]:
        """A string column dictionary-encoded once: per row an index into the returned
        values, -1 for null."""
        hit = self._codes.get(name)
        if hit is None:
            enc = pc.dictionary_encode(self.table.column(name)).combine_chunks()
            idx = np.asarray(pc.fill_null(enc.indices, -1).to_numpy(), dtype=np.int64)
            idx.setflags(write=False)
            hit = (idx, [str(v) for v in enc.dictionary.to_pylist()])
            self._codes[name] = hit
        return hit

    def isin(self, name: str, values: Iterable[str]) -> BoolArray:
        """Rows whose string column ``name`` is one of ``values`` (null is never in)."""
        idx, dictionary = self.codes(name)
        wanted = {str(v) for v in values}
        lut = np.zeros(len(dictionary) + 1, dtype=bool)  # the last slot is null's (-1)
        lut[[k for k, v in enumerate(dictionary) if v in wanted]] = True
        hit: BoolArray = lut[idx]
        return hit

    def str_at(self, name: str, i: int) -> str | None:
        v = self.table.column(name)[i].as_py()
        return None if v is None else str(v)

    def filter(self, mask: BoolArray) -> Incidents:
        return Incidents(self.table.filter(pa.array(mask)))


class ZoneView:
    """Where each incident lies: the party holding the ground, distance to the line, zones."""

    def __init__(
        self,
        party: npt.ArrayLike,
        parties: Sequence[str],
        dist_km: FloatArray,
        zone_ids: Sequence[str],
        zones: BoolArray,
        sector: npt.ArrayLike | None = None,
        sector_ids: Sequence[str] = (),
    ) -> None:
        self.party = np.asarray(party, dtype=np.int64)
        n = len(self.party)
        self.sector = np.full(n, -1, np.int64) if sector is None else np.asarray(sector, np.int64)
        self.sector_ids = tuple(sector_ids)
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
    """Notified activities from the deconfliction register: plain columns (footprints as
    lon/lat shapely geometries, when given, refine the bounding boxes)."""

    party: tuple[str, ...] = ()
    activity: tuple[str, ...] = ()
    t_start: tuple[int, ...] = ()
    t_end: tuple[int, ...] = ()
    filed_at: tuple[int, ...] = ()
    bbox: tuple[tuple[float, float, float, float], ...] = ()
    footprint: tuple[Any, ...] = ()
    available: bool = True  # False: no register to judge notification duties against


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
    wording: Wording | None = None  # the summary as msgid and arguments, for translation
    basis_wording: Wording | None = None  # party_basis as msgid and arguments, likewise

    @property
    def key(self) -> str:
        """Idempotency key: the rule and the anchor of its evidence (not the evidence's size)."""
        return finding_key(self.agreement_id, self.rule_id, self.anchor)

    def evidence(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "incidents": sorted(self.incidents),
            "declarations": sorted(self.declarations),
            "ledger": sorted(self.ledger),
        }
        if self.wording is not None:
            out["summary"] = self.wording.doc()
        if self.basis_wording is not None:
            out["basis"] = self.basis_wording.doc()
        return out


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a rule may read, for one agreement version."""

    agreement: Agreement
    incidents: Incidents
    view: ZoneView
    declarations: tuple[Declaration, ...] = ()
    notifications: Notifications = Notifications()
    t_from: int = 0
    t_to: int = 2**62  # exclusive end of the checked span (this version's part of it)
    now: int | None = None  # the check's horizon, when a duty falls due (default: t_to)

    @property
    def horizon(self) -> int:
        """Up to when declarations are due: the check's end, not this version's end."""
        return self.t_to if self.now is None else self.now


def finding_key(agreement_id: str, rule_id: str, anchor: str) -> str:
    """The key of a finding of ``rule_id`` about ``anchor`` (see ``Finding.key``)."""
    doc = json.dumps([agreement_id, rule_id, anchor], separators=(",", ":"))
    return hashlib.sha256(doc.encode()).hexdigest()
