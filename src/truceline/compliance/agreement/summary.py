"""A printable summary of an agreement: zones with their areas and lengths in km."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from truceline.compliance.agreement.geometry import Metric
from truceline.compliance.agreement.model import Agreement, Party

__all__ = ["AgreementSummary", "RuleRow", "ZoneRow", "summarise"]


@dataclass(frozen=True)
class ZoneRow:
    id: str
    kind: str
    party: str
    weapon_class: str
    band_km: str
    bars: str
    area_km2: str
    length_km: str


@dataclass(frozen=True)
class RuleRow:
    id: str
    kind: str
    params: str
    text: str


@dataclass(frozen=True)
class AgreementSummary:
    id: str
    version: int
    title: str
    validity: str
    parties: tuple[Party, ...]
    zones: tuple[ZoneRow, ...]
    rules: tuple[RuleRow, ...]


def _day(t: int | None) -> str:
    return "open" if t is None else dt.datetime.fromtimestamp(t, dt.UTC).date().isoformat()


def summarise(a: Agreement) -> AgreementSummary:
    """Strings ready for a table; areas and lengths measured in a projection on the line."""
    metric = Metric.around(a.contact_line if not a.contact_line.is_empty else a.zones[0].geometry)
    zones = []
    for z in a.zones:
        g = metric.fwd(z.geometry)
        area = f"{g.area / 1e6:,.0f}" if g.area else ""
        length = f"{g.length / 1000:,.0f}" if g.geom_type.endswith("LineString") else ""
        band = "" if z.band_km is None else f"{z.band_km:g}"
        zones.append(
            ZoneRow(
                z.id,
                z.kind,
                z.party or "",
                z.weapon_class or "",
                band,
                ",".join(sorted(z.bars)),
                area,
                length,
            )
        )
    rules = [
        RuleRow(r.id, r.kind, json.dumps(r.params, ensure_ascii=False)[:80], r.text[:100])
        for r in a.rules
    ]
    return AgreementSummary(
        a.id,
        a.version,
        a.title,
        f"{_day(a.valid_from)} to {_day(a.valid_to)}",
        a.parties,
        tuple(zones),
        tuple(rules),
    )
