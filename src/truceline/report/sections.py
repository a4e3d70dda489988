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
from truceline.report.editions import MAX_REMARKS, WEAPON_RULE_KINDS

__all__ = [
    "WEAPON_PARTS",
    "WEAPON_RULE_KINDS",
    "civilian_harm",
    "narrative",
    "restrictions",
    "weapons",
]

#: the three parts of the weapons section: (key, rule kind)
WEAPON_PARTS = (
    ("in_bands", "withdrawal_band"),
    ("outside_sites", "outside_storage"),
    ("missing", "storage_inventory"),
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
    """Weapons seen, and the findings about weapons in three parts: inside withdrawal
    bands, outside storage sites, missing from sites (then any other weapons finding).

    Each finding is a line: its weapons (class and count, from its incidents), the place
    of its first incident as the edition gives it, its status and party as the edition
    shows them, and its summary, except where the public edition withholds the party:
    a summary may name it (a band's side, a site's holder), so that line is told from
    the weapons and the place alone, and a site is not named."""
    by_id = {i["id"]: i for i in incidents}
    found = [dict(f) for f in findings if f["rule_kind"] in WEAPON_RULE_KINDS]
    lines = [_weapon_line(f, by_id) for f in found]
    out: dict[str, Any] = {
        "sightings": [dict(i) for i in incidents if i["kind"] == "weapon_sighting"],
        "findings": found,
    }
    for key, kind in WEAPON_PARTS:
        out[key] = [ln for ln in lines if ln["rule_kind"] == kind]
    parts = {kind for _, kind in WEAPON_PARTS}
    out["other"] = [ln for ln in lines if ln["rule_kind"] not in parts]
    return out


def _weapon_line(f: Mapping[str, Any], by_id: Mapping[Any, Mapping[str, Any]]) -> dict[str, Any]:
    rows = [by_id[i] for i in f.get("incidents") or () if i in by_id]
    seen: Counter[str] = Counter()
    for i in rows:
        if i.get("weapon_class") and i["kind"] != "inspection":
            seen[str(i["weapon_class"])] += int(i["count"])
    withheld = "party_withheld" in f  # the public edition, not confirmed by an analyst
    return {
        "id": f.get("id"),
        "rule_id": f["rule_id"],
        "rule_kind": f["rule_kind"],
        "status": f["status"],
        "party": f.get("party"),
        "party_withheld": bool(f.get("party_withheld")),
        "weapons": [{"weapon_class": w, "count": n} for w, n in sorted(seen.items())],
        "place": rows[0].get("place") if rows else None,
        "summary": None if withheld else f["summary"],
        "wording": None if withheld else f.get("wording"),
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
