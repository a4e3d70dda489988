"""Storage sites: weapons missing from a declared site, weapons seen outside every site.

``storage_inventory``: an inspection (an incident whose observations carry
``attrs.inspected``, counts per weapon class) inside a storage site's footprint is
compared with the holdings the agreement records for that site; each class counted
below its holding is missing. One finding per site and inspection day, against the
party that holds the site (the agreement names it; the inspection is the evidence),
with the quality gates of every finding. Several inspections on one day: the
highest count of each class stands (a lower bound of what is there).

``outside_storage``: after the withdrawal deadline (``from``), a weapon of the
regime's classes seen in the theatre outside every storage site, outside the
withdrawal band of its class (``withdrawal_band`` judges those), outside the zones
the rule permits (``permitted``) and outside a demilitarised zone (its own rule
judges those); with ``within_km``, only within that distance of the contact line
(the depth the regime covers). The party is placed as for every incident rule: by attribution, or
a sighting wholly inside the area a party holds.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import shapely

from truceline.compliance.periods import to_epoch
from truceline.compliance.rules._incident import (
    DAY,
    Group,
    _day_label,
    _weak,
    _weights,
    incident_findings,
    usable,
)
from truceline.compliance.rules.base import PRESENCE_KINDS, BoolArray, Context, Finding
from truceline.compliance.wording import N_, Wording, counts, part
from truceline.domain.vocab import Severity

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Rule, StorageSite

__all__ = ["outside_storage", "storage_inventory"]


def _inspections(ctx: Context) -> BoolArray:
    inc = ctx.incidents
    has = np.asarray(inc.table.column("inspected").is_valid().to_numpy(zero_copy_only=False))
    out: BoolArray = has & usable(ctx)
    return out


def _inside(ctx: Context, zone_id: str) -> BoolArray:
    geom = ctx.agreement.zone(zone_id).geometry
    inc = ctx.incidents
    return np.asarray(shapely.contains_xy(geom, inc.lon, inc.lat), dtype=bool)


def _missing(site: StorageSite, counted: dict[str, int], classes: set[str]) -> dict[str, int]:
    return {
        cls: held - counted[cls]
        for cls, held in sorted(site.holdings.items())
        if cls in counted and (not classes or cls in classes) and counted[cls] < held
    }


def storage_inventory(rule: Rule, ctx: Context) -> list[Finding]:
    """Weapons missing from a storage site at an inspection, against its holder."""
    a, inc = ctx.agreement, ctx.incidents
    wanted = set(rule.params.get("sites") or ())
    classes = set(rule.params.get("weapon_classes") or ())
    inspected = _inspections(ctx)
    out: list[Finding] = []
    for site in a.storage_sites:
        if wanted and site.id not in wanted:
            continue
        idx = np.flatnonzero(inspected & _inside(ctx, site.id))
        by_day: dict[int, list[int]] = defaultdict(list)
        for i in idx.tolist():
            by_day[int(inc.t[i]) // DAY].append(i)
        for day, rows in sorted(by_day.items()):
            counted: dict[str, int] = {}
            for i in rows:
                for cls, n in json.loads(inc.str_at("inspected", i) or "{}").items():
                    counted[cls] = max(int(n), counted.get(cls, int(n)))
            missing = _missing(site, counted, classes)
            if not missing:
                continue
            arr = np.asarray(rows, dtype=np.int64)
            conf = float(np.max(_weights(inc, arr)))
            nonparty = int(np.max(inc.nonparty[arr]))
            weak = bool(_weak(a.quality, np.array([conf]), np.array([nonparty]))[0])
            label = _day_label(day * DAY)
            what = {
                "each": [
                    part(N_("%(n)s %(weapon)s missing (holding %(holding)s, counted %(counted)s)"),
                         n=n, weapon={"weapon": cls}, holding=site.holdings[cls],
                         counted=counted[cls])
                    for cls, n in missing.items()
                ],
                "sep": "; ",
            }  # fmt: skip
            words = Wording(
                N_("at the inspection of storage site %(name)s (%(site)s) on %(day)s: %(what)s"),
                {"name": site.name, "site": site.id, "day": label, "what": what},
            )
            basis = Wording(
                N_("the agreement names %(name)s (%(site)s) as a storage site of %(party)s; "
                   "the inspection counted fewer than its holdings"),
                {"name": site.name, "site": site.id, "party": site.party},
            )  # fmt: skip
            centre = a.zone(site.id).geometry.centroid
            out.append(
                Finding(
                    rule_id=rule.id,
                    rule_kind=rule.kind,
                    agreement_id=a.id,
                    agreement_version=a.version,
                    anchor=f"{site.id}:{label}",
                    period_start=max(day * DAY, int(a.valid_from)),
                    period_end=day * DAY + DAY,
                    party=site.party,
                    party_basis=basis.english(),
                    basis_wording=basis,
                    severity=Severity.UNCONFIRMED if weak else "high",
                    confidence=conf,
                    summary=words.english(),
                    incidents=tuple(sorted(int(inc.id[i]) for i in rows)),
                    lon=float(centre.x),
                    lat=float(centre.y),
                    wording=words,
                )  # fmt: skip
            )
    return out


def outside_storage(rule: Rule, ctx: Context) -> list[Finding]:
    """Weapons of the regime seen outside storage sites, bands and permitted areas."""
    a, inc = ctx.agreement, ctx.incidents
    classes = [str(c) for c in rule.params.get("weapon_classes") or ()]
    since = to_epoch(rule.params.get("from"), f"rule {rule.id}: from")
    bound = set(rule.params.get("parties") or a.party_ids)
    theatre = a.theatre
    shapely.prepare(theatre)
    mask = inc.isin("kind", PRESENCE_KINDS) & inc.isin("weapon_class", classes)
    mask &= (inc.t >= since) & ~_inspections(ctx)
    mask &= np.asarray(shapely.contains_xy(theatre, inc.lon, inc.lat), dtype=bool)
    for z in a.zones_of("storage_site"):
        mask &= ~_inside(ctx, z.id)
    for z in a.zones_of("withdrawal_band"):  # the band's own rule judges its class there
        mask &= ~(_inside(ctx, z.id) & inc.isin("weapon_class", [z.weapon_class or ""]))
    for r in a.rules_of("demilitarised_zone"):
        mask &= ~_inside(ctx, str(r.params.get("zone")))
    for zid in rule.params.get("permitted") or ():
        mask &= ~_inside(ctx, str(zid))
    if "within_km" in rule.params:
        with np.errstate(invalid="ignore"):
            mask &= ctx.view.dist_km <= float(rule.params["within_km"])
    after = rule.params.get("from")

    def summary(g: Group) -> Wording:
        return Wording(
            N_("%(weapons)s seen outside every storage site and withdrawal band%(where)s on "
               "%(day)s, after the withdrawal deadline %(after)s"),
            {"weapons": counts("weapons", g.weapons.most_common()), "where": g.where(),
             "day": g.day_label, "after": after},
        )  # fmt: skip

    found = incident_findings(rule, ctx, mask, summary)
    return [f for f in found if f.party is None or f.party in bound]
