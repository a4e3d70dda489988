"""Geometry terms: withdrawal bands, the buffer zone, exclusion zones, areas to vacate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import shapely.ops
from shapely.geometry.base import BaseGeometry

from truceline.compliance.periods import to_epoch
from truceline.compliance.rules._incident import HEAVY_CLASSES, Group, incident_findings
from truceline.compliance.rules.base import PRESENCE_KINDS, BoolArray, Context, Finding
from truceline.compliance.wording import N_, Wording, counts, part
from truceline.domain.vocab import FIRE_KINDS, MILITARY_KINDS, ObservationKind

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Agreement, Rule, Zone

__all__ = [
    "area_to_vacate",
    "buffer_fire",
    "exclusion",
    "withdrawal_area",
    "withdrawal_band",
    "zone_mask",
]

FLIGHT_KINDS = frozenset({ObservationKind.FLIGHT, ObservationKind.DRONE})
_BARRED_KINDS = {"military": MILITARY_KINDS, "flight": FLIGHT_KINDS, "fire": FIRE_KINDS}


def _zone(ctx: Context, zone_id: str) -> Zone | None:
    for z in ctx.agreement.zones:
        if z.id == zone_id:
            return z
    return None


def zone_mask(ctx: Context, zone: Zone) -> BoolArray:
    """Incidents inside ``zone``: from the classification, else a vectorised point test."""
    if zone.id in ctx.view.zone_ids:
        return ctx.view.inside(zone.id)
    geom = zone.geometry
    if shapely.get_dimensions(geom) < 2:
        return np.zeros(len(ctx.incidents), dtype=bool)
    return np.asarray(shapely.contains_xy(geom, ctx.incidents.lon, ctx.incidents.lat), dtype=bool)


def _heavy(ctx: Context) -> BoolArray:
    return ctx.incidents.isin("weapon_class", HEAVY_CLASSES)


def _weapons(g: Group) -> dict[str, Any]:
    if not g.weapons:
        return part(N_("weapon class unknown"))
    return counts("weapons", g.weapons.most_common())


def withdrawal_band(rule: Rule, ctx: Context) -> list[Finding]:
    """A weapon of a barred class seen inside the band of its class."""
    classes = set(rule.params.get("weapon_classes") or [])
    sides = set(rule.params.get("parties") or [])
    inc = ctx.incidents
    seen = inc.isin("kind", PRESENCE_KINDS)
    zone_of = np.full(len(inc), -1, dtype=np.int64)
    bands = [
        z
        for z in ctx.agreement.zones
        if z.kind == "withdrawal_band"
        and (not classes or z.weapon_class in classes)
        and (not sides or z.party in sides)
    ]
    for k, z in enumerate(bands):
        cls = inc.isin("weapon_class", [z.weapon_class or ""])
        hit = seen & (zone_of < 0) & zone_mask(ctx, z) & cls
        zone_of[hit] = k
    by_id = {z.id: z for z in bands}

    def summary(g: Group) -> Wording:
        z = by_id[g.subject]
        return Wording(
            N_("%(weapons)s seen inside the %(km)s km withdrawal band %(zone)s "
               "(side of %(party)s)%(where)s on %(day)s"),
            {"weapons": _weapons(g), "km": f"{z.band_km:g}", "zone": z.id, "party": z.party,
             "where": g.where(), "day": g.day_label},
        )  # fmt: skip

    return incident_findings(
        rule, ctx, zone_of >= 0, summary, subject=zone_of, subjects=[z.id for z in bands],
        high=_heavy(ctx),
    )  # fmt: skip


def buffer_fire(rule: Rule, ctx: Context) -> list[Finding]:
    """Fire inside the buffer zone; a party only where the incident is attributed."""
    zone = _zone(ctx, str(rule.params.get("zone")))
    if zone is None:
        return []
    inc = ctx.incidents
    mask = zone_mask(ctx, zone) & inc.isin("kind", FIRE_KINDS)

    def summary(g: Group) -> Wording:
        return Wording(
            N_("fire inside the buffer zone %(zone)s%(where)s on %(day)s: %(what)s"),
            {"zone": zone.id, "where": g.where(), "day": g.day_label, "what": g.what()},
        )

    return incident_findings(rule, ctx, mask, summary, high=_heavy(ctx))


def exclusion(rule: Rule, ctx: Context) -> list[Finding]:
    """What the zone bars (military activity, flights, fire) seen inside it."""
    zone = _zone(ctx, str(rule.params.get("zone")))
    if zone is None:
        return []
    bars = set(rule.params.get("bars") or ())  # the rule may bar only part of the zone's bars
    if not bars:
        bars = set(zone.bars)
        rules = ctx.agreement.rules
        if any(r.kind == "buffer_fire" and r.params.get("zone") == zone.id for r in rules):
            bars.discard("fire")  # the buffer_fire rule on this zone judges its fire: not twice
    kinds: set[str] = set()
    for what in bars:
        kinds |= _BARRED_KINDS.get(what, frozenset())
    mask = zone_mask(ctx, zone) & ctx.incidents.isin("kind", kinds)
    barred = ", ".join(sorted(bars))

    def summary(g: Group) -> Wording:
        return Wording(
            N_("inside the exclusion zone %(zone)s (bars %(bars)s) on %(day)s: %(what)s"),
            {"zone": zone.id, "bars": barred, "day": g.day_label, "what": g.what()},
        )

    return incident_findings(rule, ctx, mask, summary, level="high")


def area_to_vacate(agreement: Agreement, zone: Zone, party: str) -> BaseGeometry:
    """The area ``party`` must leave: the zone's polygon, or, for a withdrawal line, the
    parts of the party's control area that the line cuts off (all but the largest)."""
    geom = zone.geometry
    if shapely.get_dimensions(geom) >= 2:
        return geom
    held = [z.geometry for z in agreement.zones if z.kind == "control" and z.party == party]
    if not held:
        return shapely.Polygon()
    pieces = shapely.get_parts(shapely.ops.split(shapely.union_all(held), geom))
    pieces = [p for p in pieces if shapely.get_dimensions(p) >= 2]
    if len(pieces) < 2:
        return shapely.Polygon()
    pieces.sort(key=lambda p: p.area)
    return shapely.union_all(pieces[:-1])


def withdrawal_area(rule: Rule, ctx: Context) -> list[Finding]:
    """Military activity of the withdrawing party inside the area after the deadline: the
    party is placed by attribution only (the map shows who held the area, not who is in it)."""
    zone = _zone(ctx, str(rule.params.get("zone")))
    party = str(rule.params.get("party"))
    if zone is None:
        return []
    by = to_epoch(rule.params.get("by"), f"rule {rule.id}: by")
    inc = ctx.incidents
    area = area_to_vacate(ctx.agreement, zone, party)
    inside = np.asarray(shapely.contains_xy(area, inc.lon, inc.lat), dtype=bool)
    mask = inside & inc.isin("kind", MILITARY_KINDS) & (inc.t >= by)

    def summary(g: Group) -> Wording:
        return Wording(
            N_("%(what)s of %(party)s inside %(zone)s on %(day)s, which %(party)s was to "
               "vacate by %(by)s"),
            {"what": g.what(), "party": party, "zone": zone.id, "day": g.day_label,
             "by": rule.params.get("by")},
        )  # fmt: skip

    return incident_findings(
        rule, ctx, mask, summary, level="high", require_party=party, by_map=False
    )
