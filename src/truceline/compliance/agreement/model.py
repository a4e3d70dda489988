"""The compiled agreement: parties, zones (shapely geometry in lon/lat) and rules.

An :class:`Agreement` is what the loader produces from a TOML file and what the
store keeps (as :meth:`Agreement.to_json`). Geometry is always WGS84
longitude/latitude; metric work projects it first (see ``geometry``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from truceline.compliance.rules.params import BARS

__all__ = [
    "BARS",
    "ZONE_KINDS",
    "Agreement",
    "BreachCondition",
    "Party",
    "Quality",
    "Rule",
    "StorageSite",
    "Zone",
]

#: zone kinds (``withdrawal_area`` is an area a named party must leave by a date)
ZONE_KINDS = (
    "contact_line",
    "control",
    "sector",
    "withdrawal_band",
    "buffer",
    "exclusion",
    "withdrawal_line",
    "withdrawal_area",
    "theatre",
    "storage_site",
)


@dataclass(frozen=True, slots=True)
class Quality:
    """When the evidence of a finding is good enough to grade it (``[quality]`` of the TOML).

    A finding whose best evidence has a confidence below ``min_confidence``, or whose
    incidents rest on the parties' own claims alone (unless ``party_claims_alone``), is
    graded ``unconfirmed`` whatever its rule would say: it is shown only in restricted
    outputs until an analyst confirms it."""

    min_confidence: float = 0.25
    party_claims_alone: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "min_confidence": self.min_confidence,
            "party_claims_alone": self.party_claims_alone,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Quality:
        return cls(float(d.get("min_confidence", 0.25)), bool(d.get("party_claims_alone", False)))


@dataclass(frozen=True, slots=True)
class BreachCondition:
    """A major breach the guarantors act on (``[[major_breach]]``): at least ``count``
    findings of ``rules`` attributed to one party within ``days`` days, each at least
    ``depth_km`` from the contact line."""

    id: str
    text: str
    rules: tuple[str, ...]
    count: int = 1
    days: float = 1.0
    depth_km: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "rules": list(self.rules),
                "count": self.count, "days": self.days, "depth_km": self.depth_km}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> BreachCondition:
        return cls(str(d["id"]), str(d["text"]), tuple(str(r) for r in d["rules"]),
                   int(d.get("count", 1)), float(d.get("days", 1.0)),
                   float(d.get("depth_km", 0.0)))  # fmt: skip


@dataclass(frozen=True, slots=True)
class StorageSite:
    """A storage site the agreement names (``[[storage_site]]``): where ``party`` keeps
    weapons withdrawn from the line, and what it declared keeping there (``holdings``:
    weapon class -> count). Its footprint is the zone of the same id (kind
    ``storage_site``)."""

    id: str
    name: str
    party: str
    holdings: dict[str, int]

    def __hash__(self) -> int:  # holdings is a dict: hash what identifies the site
        return hash((self.id, self.party))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "party": self.party,
                "holdings": dict(sorted(self.holdings.items()))}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StorageSite:
        holdings = {str(k): int(v) for k, v in dict(d.get("holdings", {})).items()}
        return cls(str(d["id"]), str(d["name"]), str(d["party"]), holdings)


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Zone:
    """One zone; ``party``/``weapon_class``/``band_km`` only where its kind uses them."""

    id: str
    kind: str
    party: str | None
    weapon_class: str | None
    band_km: float | None
    geometry: BaseGeometry
    bars: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "party": self.party,
            "weapon_class": self.weapon_class,
            "band_km": self.band_km,
            "bars": sorted(self.bars),
            "geometry": _listify(mapping(self.geometry)),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Zone:
        band = d.get("band_km")
        return cls(
            id=str(d["id"]),
            kind=str(d["kind"]),
            party=d.get("party"),
            weapon_class=d.get("weapon_class"),
            band_km=None if band is None else float(band),
            geometry=shape(d["geometry"]),
            bars=frozenset(d.get("bars", ())),
        )

    def feature(self) -> dict[str, Any]:
        """A GeoJSON feature in the bench's ``zones.geojson`` shape."""
        return {
            "type": "Feature",
            "properties": {
                "id": self.id,
                "kind": self.kind,
                "party": self.party or "",
                "weapon_class": self.weapon_class or "",
                "band_km": self.band_km,
            },
            "geometry": _listify(mapping(self.geometry)),
        }


@dataclass(frozen=True, slots=True)
class Rule:
    """A term of the agreement: ``text`` is the agreement's words, ``params`` the machine form."""

    id: str
    kind: str
    text: str
    params: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:  # params is a dict: hash what identifies the rule
        return hash((self.id, self.kind, self.text))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "text": self.text, "params": self.params}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Rule:
        return cls(str(d["id"]), str(d["kind"]), str(d["text"]), dict(d.get("params", {})))


@dataclass(frozen=True)
class Agreement:
    """One version of an agreement; times are epoch seconds UTC (``valid_to`` exclusive)."""

    id: str
    version: int
    title: str
    valid_from: int
    valid_to: int | None
    parties: tuple[Party, ...]
    zones: tuple[Zone, ...]
    rules: tuple[Rule, ...]
    fusion: dict[str, Any] = field(default_factory=dict)
    sources: str = ""
    quality: Quality = Quality()
    major_breach: tuple[BreachCondition, ...] = ()
    storage_sites: tuple[StorageSite, ...] = ()

    def __hash__(self) -> int:  # fusion is a dict: hash what identifies the version
        return hash((self.id, self.version, self.valid_from, self.valid_to))

    def zone(self, zone_id: str) -> Zone:
        """The zone with this id (``KeyError`` if there is none)."""
        for z in self.zones:
            if z.id == zone_id:
                return z
        raise KeyError(zone_id)

    def zones_of(self, kind: str) -> tuple[Zone, ...]:
        return tuple(z for z in self.zones if z.kind == kind)

    def rules_of(self, kind: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.kind == kind)

    @property
    def party_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.parties)

    @property
    def theatre(self) -> BaseGeometry:
        """Where the theatre-wide terms apply: the ``theatre`` zone, else every control area."""
        own = [z.geometry for z in self.zones_of("theatre")]
        return shapely.union_all(own or [z.geometry for z in self.zones_of("control")])

    @property
    def contact_line(self) -> BaseGeometry:
        """The union of the contact-line zones (empty if the agreement has none)."""
        lines = [z.geometry for z in self.zones_of("contact_line")]
        return shapely.union_all(lines) if lines else shapely.LineString()

    def in_force(self, t: int) -> bool:
        return self.valid_from <= t and (self.valid_to is None or t < self.valid_to)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "sources": self.sources,
            "parties": [{"id": p.id, "name": p.name} for p in self.parties],
            "zones": [z.to_json() for z in self.zones],
            "rules": [r.to_json() for r in self.rules],
            "fusion": dict(self.fusion),
            "quality": self.quality.to_json(),
            "major_breach": [c.to_json() for c in self.major_breach],
            # only when there are some: the content (and sha256) of older agreements is kept
            **(
                {"storage_sites": [s.to_json() for s in self.storage_sites]}
                if self.storage_sites
                else {}
            ),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Agreement:
        vt = d.get("valid_to")
        return cls(
            id=str(d["id"]),
            version=int(d["version"]),
            title=str(d.get("title", "")),
            valid_from=int(d["valid_from"]),
            valid_to=None if vt is None else int(vt),
            parties=tuple(Party(str(p["id"]), str(p["name"])) for p in d.get("parties", ())),
            zones=tuple(Zone.from_json(z) for z in d.get("zones", ())),
            rules=tuple(Rule.from_json(r) for r in d.get("rules", ())),
            fusion=dict(d.get("fusion", {})),
            sources=str(d.get("sources", "")),
            quality=Quality.from_json(d.get("quality", {})),
            major_breach=tuple(BreachCondition.from_json(c) for c in d.get("major_breach", ())),
            storage_sites=tuple(StorageSite.from_json(x) for x in d.get("storage_sites", ())),
        )

    def zones_geojson(self) -> dict[str, Any]:
        """All zones as a FeatureCollection with properties ``{id, kind, party, weapon_class,
        band_km}`` (the bench's ``zones.geojson`` shape: empty strings for none)."""
        return {"type": "FeatureCollection", "features": [z.feature() for z in self.zones]}


def _listify(obj: Any) -> Any:
    """GeoJSON mappings with lists instead of tuples (so they equal their JSON round trip)."""
    if isinstance(obj, dict):
        return {k: _listify(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_listify(v) for v in obj]
    return obj
