"""The report's sections beyond the counts, assembled from the day's incidents and
findings: a narrative per reporting sector (facts only, and monitors' remarks on the
verified incidents quoted as written; the wording is the templates', translated),
weapons, freedom of movement and civilian harm."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from truceline.domain.vocab import CIVILIAN_HARM_KINDS, RESTRICTION_KINDS
from truceline.report.counts import tally, violations
from truceline.report.editions import MAX_REMARKS

__all__ = ["WEAPON_RULE_KINDS", "civilian_harm", "narrative", "restrictions", "weapons"]

#: rule kinds whose findings are about weapons: inside bands or areas, outside or
#: missing from storage sites, above declared holdings
WEAPON_RULE_KINDS = frozenset(
    {"withdrawal_band", "withdrawal_area", "storage_site", "equipment_observed", "ceiling"}
)
_CIVILIAN_KINDS = CIVILIAN_HARM_KINDS | {"casualty", "damage"}
_CASUALTY_KINDS = frozenset({"casualty", "civilian_casualty"})


def _place_name(i: Mapping[str, Any]) -> str | None:
    place = i.get("place")
    return str(place["name"]) if place else None


def narrative(
    incidents: Sequence[Mapping[str, Any]], remarks: Sequence[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Per sector with any incident: the facts its paragraph states, and up to
    ``MAX_REMARKS`` of the ``remarks`` (already as the edition quotes them) on its
    incidents."""
    by_sector: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for i in incidents:
        by_sector[i.get("sector") or "(none)"].append(i)
    sector_of = {i["id"]: i.get("sector") or "(none)" for i in incidents}
    quoted: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in remarks:
        sector = sector_of.get(r["incident"])
        if sector is not None and len(quoted[sector]) < MAX_REMARKS:
            quoted[sector].append(dict(r))
    out = []
    for sector in sorted(by_sector):
        rows = by_sector[sector]
        t = tally(rows)
        fire = violations(rows)
        places = Counter(p for i in fire if (p := _place_name(i)))
        out.append(
            {
                "sector": sector,
                "events": t.events,
                "rounds": t.rounds,
                "by_kind": {k: list(v) for k, v in t.by_kind.items()},
                "verified": sum(1 for i in fire if i["status"] == "verified"),
                "places": [p for p, _ in places.most_common(3)],
                "weapons": sum(1 for i in rows if i["kind"] == "weapon_sighting"),
                "restrictions": sum(1 for i in rows if i["kind"] in RESTRICTION_KINDS),
                "civilian": sum(int(i["count"]) for i in rows if i["kind"] in _CIVILIAN_KINDS),
                "remarks": quoted[sector],
            }
        )
    return out


def weapons(
    incidents: Sequence[Mapping[str, Any]], findings: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Weapons seen, and the findings about weapons (bands, areas, storage sites)."""
    return {
        "sightings": [dict(i) for i in incidents if i["kind"] == "weapon_sighting"],
        "findings": [dict(f) for f in findings if f["rule_kind"] in WEAPON_RULE_KINDS],
    }


def restrictions(
    incidents: Sequence[Mapping[str, Any]], gaps: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Restrictions of the mission's freedom of movement: reported restrictions (with
    the party controlling the area where stated) and access denied to sources."""
    return {
        "incidents": [dict(i) for i in incidents if i["kind"] in RESTRICTION_KINDS],
        # denials a restriction above made are its coverage gap, listed under coverage
        "denied": [dict(g) for g in gaps if g["kind"] == "denied" and not g.get("reason")],
    }


def civilian_harm(incidents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Civilian casualties and damage to civilian infrastructure reported that day."""
    rows = [dict(i) for i in incidents if i["kind"] in _CIVILIAN_KINDS]
    return {
        "incidents": rows,
        "casualties": sum(int(i["count"]) for i in rows if i["kind"] in _CASUALTY_KINDS),
        "damage": sum(int(i["count"]) for i in rows if i["kind"] not in _CASUALTY_KINDS),
    }
