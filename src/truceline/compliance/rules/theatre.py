"""Terms over the whole theatre: the ceasefire everywhere, zones both parties must leave.

``ceasefire``: any fire attributed to a party anywhere in the agreement's theatre
(both parties' territory and the adjoining regions, not only the buffer zone) is
a finding of its own, with its depth from the contact line, the area it struck
and the direction of fire where the observations give it. Fire inside a zone a
``buffer_fire`` rule judges is left to that rule (never counted twice).

``demilitarised_zone``: from each phase's date, what the phase bars (heavy weapons,
then all military activity) inside the zone is a finding for every party the
term binds; a party is named only where the incident is attributed to it: a
zone that changes hands by design says nothing of who is in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

from truceline.compliance.periods import to_epoch
from truceline.compliance.rules._incident import HEAVY_CLASSES, Group, incident_findings
from truceline.compliance.rules.base import (
    MIN_ACTOR_CONFIDENCE,
    PRESENCE_KINDS,
    BoolArray,
    Context,
    Finding,
)
from truceline.compliance.rules.zones import zone_mask
from truceline.compliance.wording import N_, Wording, part
from truceline.domain.vocab import FIRE_KINDS, MILITARY_KINDS

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Rule

__all__ = ["DMZ_BARS", "ceasefire", "demilitarised_zone"]

#: what a phase of a demilitarised zone may bar
DMZ_BARS = ("heavy_weapons", "military")


def _attributed(ctx: Context) -> BoolArray:
    inc = ctx.incidents
    actor = np.asarray(inc.table.column("actor").is_valid().to_numpy(zero_copy_only=False))
    out: BoolArray = actor & (inc.actor_confidence >= MIN_ACTOR_CONFIDENCE)
    return out


def _inside(ctx: Context, area: shapely.Geometry) -> BoolArray:
    inc = ctx.incidents
    shapely.prepare(area)
    return np.asarray(shapely.contains_xy(area, inc.lon, inc.lat), dtype=bool)


def ceasefire(rule: Rule, ctx: Context) -> list[Finding]:
    """Fire attributed to a party anywhere in the theatre (or the rule's ``zone``)."""
    a, inc, view = ctx.agreement, ctx.incidents, ctx.view
    zone_id = rule.params.get("zone")
    area = a.zone(str(zone_id)).geometry if zone_id else a.theatre
    kinds = rule.params.get("kinds") or sorted(FIRE_KINDS)
    mask = _inside(ctx, area) & inc.isin("kind", kinds) & _attributed(ctx)
    for r in a.rules_of("buffer_fire"):  # the buffer's own rule judges fire inside it
        mask &= ~zone_mask(ctx, a.zone(str(r.params.get("zone"))))
    left = np.flatnonzero(mask)
    own = np.full(len(inc), -1, dtype=np.int64)
    own[left] = np.arange(len(left))
    at = {int(inc.id[i]): int(i) for i in left}
    names = (*view.parties, "")

    def summary(g: Group) -> Wording:
        i = at[g.ids[0]]
        held = names[view.party[i]] if view.party[i] >= 0 else ""
        where = (
            part(N_("in the area held by %(party)s"), party=held)
            if held
            else part(N_("outside both parties' areas"))
        )
        depth = view.dist_km[i]
        far = (
            part(N_(", %(km)s km from the contact line"), km=f"{depth:.0f}")
            if np.isfinite(depth)
            else ""
        )
        direction = inc.str_at("direction", i)
        how = (
            part(N_("; direction of fire: %(direction)s"), direction=direction) if direction else ""
        )
        return Wording(
            N_("%(what)s attributed to %(party)s on %(day)s %(where)s%(far)s%(how)s"),
            {"what": g.what(), "party": g.party, "day": g.day_label, "where": where,
             "far": far, "how": how},
        )  # fmt: skip

    subjects = [f"incident {i}" for i in inc.id[left].tolist()]
    heavy = inc.isin("weapon_class", HEAVY_CLASSES)
    return incident_findings(
        rule, ctx, mask, summary, subject=own, subjects=subjects, high=heavy, by_map=False
    )


def _phase_kinds(bars: list[str], ctx: Context) -> BoolArray:
    inc = ctx.incidents
    out = np.zeros(len(inc), dtype=bool)
    if "heavy_weapons" in bars:
        out |= inc.isin("kind", PRESENCE_KINDS | FIRE_KINDS) & inc.isin(
            "weapon_class", HEAVY_CLASSES | {"tank", "mortar_artillery_lt100", "mlrs_long_tbm"}
        )
    if "military" in bars:
        out |= inc.isin("kind", MILITARY_KINDS)
    return out


def demilitarised_zone(rule: Rule, ctx: Context) -> list[Finding]:
    """What each phase bars inside the zone from its date, for every party bound."""
    zone = ctx.agreement.zone(str(rule.params.get("zone")))
    inc = ctx.incidents
    if shapely.get_dimensions(zone.geometry) < 2:
        return []
    inside = zone_mask(ctx, zone)
    phases = sorted(
        ((to_epoch(ph["from"], f"rule {rule.id}: phases.from"), list(ph["bars"]))
         for ph in rule.params.get("phases") or []),
        key=lambda p: p[0],
    )  # fmt: skip
    mask = np.zeros(len(inc), dtype=bool)
    label = np.full(len(inc), -1, dtype=np.int64)
    for k, (start, bars) in enumerate(phases):
        end = phases[k + 1][0] if k + 1 < len(phases) else 2**62
        hit = inside & (inc.t >= start) & (inc.t < end) & _phase_kinds(bars, ctx)
        mask |= hit
        label[hit] = k
    bound = {str(p) for p in rule.params.get("parties") or ctx.agreement.party_ids}
    bars_of = [", ".join(b) for _, b in phases]

    def summary(g: Group) -> Wording:
        who = (
            part(N_("of %(party)s"), party=g.party)
            if g.party
            else part(N_("of unidentified forces"))
        )
        return Wording(
            N_("%(what)s %(who)s inside the demilitarised zone %(zone)s on %(day)s "
               "(barred there: %(barred)s)"),
            {"what": g.what(), "who": who, "zone": zone.id, "day": g.day_label,
             "barred": g.subject},
        )  # fmt: skip

    found = incident_findings(
        rule, ctx, mask, summary, subject=label, subjects=bars_of or [""], level="high",
        by_map=False,
    )  # fmt: skip
    return [f for f in found if f.party is None or f.party in bound]
