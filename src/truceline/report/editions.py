"""The two editions of a report: ``restricted`` (everything, marked as such) and
``public`` (what anyone may read).

The public edition

- names a party only on findings an analyst confirmed; an open finding says that its
  party is not named until reviewed, and is shown without its summary (a rule's
  summary may name the party it places); a finding graded ``unconfirmed`` is left out;
- never names an incident's actor (attribution is published through findings only);
- gives positions of weapons, movements, inspections and weapons findings only as a
  0.1 degree grid cell and the nearest settlement, and of other incidents to 0.01
  degree (about a kilometre) with an uncertainty of at least a kilometre; a weapons
  finding whose party is withheld is told without its summary (which may name the
  party through a band's side or a storage site's holder);
- never shows an observer's or a sensor's identity or position: coverage gaps are
  summed by kind and source type, without source ids, notes or footprints; of the
  remarks on verified incidents it quotes only mission monitors', without their id,
  with positions (coordinates, grid references) and source ids in the text replaced
  by ``[…]``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from truceline.report.places import Place, nearest, nearest_many

__all__ = [
    "EDITIONS",
    "PUBLIC",
    "RESTRICTED",
    "WEAPON_RULE_KINDS",
    "check_edition",
    "edition_remarks",
    "edition_view",
    "scrub_remark",
    "public_coverage",
    "public_finding",
    "public_incident",
    "public_incidents",
    "public_places",
]

PUBLIC = "public"
RESTRICTED = "restricted"
EDITIONS = (PUBLIC, RESTRICTED)

#: kinds whose exact position is targeting data (an inspection's is a storage site's)
_WEAPON_KINDS = frozenset({"weapon_sighting", "movement", "foreign_unit", "inspection"})
#: rule kinds whose findings are about weapons: inside bands or areas, outside or
#: missing from storage sites, above declared holdings (their positions are coarsened too)
WEAPON_RULE_KINDS = frozenset(
    {"withdrawal_band", "withdrawal_area", "outside_storage", "storage_inventory",
     "holdings_observed", "ceiling"}
)  # fmt: skip
_INCIDENT_PRIVATE = ("actor", "actor_confidence", "actor_basis")


def check_edition(edition: str) -> str:
    from truceline.domain.errors import InputError

    if edition not in EDITIONS:
        raise InputError(f"unknown edition {edition!r}: choose public or restricted")
    return edition


def _snap(v: float, step: float) -> float:
    return round((math.floor(round(v / step, 9)) + 0.5) * step, 6)


def _as_place(p: Place) -> dict[str, Any]:
    return {"name": p.name, "km": round(p.km), "direction": p.direction}


def public_places(lon: Sequence[float], lat: Sequence[float]) -> list[dict[str, Any]]:
    """The nearest place of each point, as an incident's ``place``, measured at once."""
    return [_as_place(p) for p in nearest_many(lon, lat)]


def _places(incidents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return public_places([i["lon"] for i in incidents], [i["lat"] for i in incidents])


def public_incident(i: dict[str, Any], place: dict[str, Any] | None = None) -> dict[str, Any]:
    """An incident as the public edition shows it (``place``: its nearest place, if
    already measured, as :func:`public_incidents` does for many)."""
    out = {k: v for k, v in i.items() if k not in _INCIDENT_PRIVATE}
    out["place"] = place or _as_place(nearest(float(i["lon"]), float(i["lat"])))
    if i["kind"] in _WEAPON_KINDS:
        out["lon"], out["lat"] = _snap(i["lon"], 0.1), _snap(i["lat"], 0.1)
        out["radius_m"] = max(float(i["radius_m"]), 8000.0)
        out["ellipse"] = None
        out["position"] = "grid 0.1 degree"
    else:
        out["lon"], out["lat"] = round(float(i["lon"]), 2), round(float(i["lat"]), 2)
        out["radius_m"] = max(float(i["radius_m"]), 1000.0)
        out["position"] = "rounded to 0.01 degree"
    return out


def public_incidents(incidents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Many incidents as the public edition shows them (their places measured at once)."""
    return [public_incident(i, p) for i, p in zip(incidents, _places(incidents), strict=True)]


def public_finding(f: dict[str, Any]) -> dict[str, Any] | None:
    """A finding as the public edition shows it, or None if it is not published."""
    if f.get("severity") == "unconfirmed" and f["status"] != "confirmed":
        return None
    out = dict(f)
    if f["status"] != "confirmed":
        out["party"] = None
        out["party_basis"] = None
        out["basis_wording"] = None
        out["party_withheld"] = f.get("party") is not None
        if out["party_withheld"]:
            out["summary"] = None  # a rule's summary may name the party it places
            out["wording"] = None
    weapon = f.get("rule_kind") in WEAPON_RULE_KINDS
    for k in ("lon", "lat"):
        if out.get(k) is not None:
            out[k] = _snap(float(out[k]), 0.1) if weapon else round(float(out[k]), 2)
    return out


def public_coverage(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Coverage gaps summed by kind, reason and source type: no ids, notes or footprints."""
    sums: dict[tuple[str, str, str], dict[str, Any]] = {}
    for g in gaps:
        key = (g["kind"], g.get("reason") or "", g["source_type"])
        why = {"reason": key[1]} if key[1] else {}  # a denial made by a restriction
        s = sums.setdefault(
            key, {"kind": key[0], **why, "source_type": key[2], "n": 0, "hours": 0.0}
        )
        s["n"] += 1
        s["hours"] += (int(g["t_end"]) - int(g["t_start"])) / 3600.0
    return [dict(v, hours=round(v["hours"], 1)) for _, v in sorted(sums.items())]


def edition_view(
    incidents: list[dict[str, Any]],
    findings: list[dict[str, Any]],
    coverage: list[dict[str, Any]],
    edition: str,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Incidents, findings and coverage gaps as ``edition`` shows them."""
    check_edition(edition)
    if edition == RESTRICTED:
        placed = [dict(i, place=p) for i, p in zip(incidents, _places(incidents), strict=True)]
        return placed, findings, coverage
    published = [p for f in findings if (p := public_finding(f)) is not None]
    return public_incidents(incidents), published, public_coverage(coverage)


#: positions written in a remark: degrees with minutes/seconds, decimal degrees (two or
#: more decimals), MGRS grid references
_HEMISPHERE = r"(?:\s?[NSEW](?![A-Za-z]))?"
_POSITION = re.compile(
    rf"""[-+]?\d{{1,3}}(?:\.\d+)?\s*°(?:\s*\d{{1,2}}(?:\.\d+)?\s*['′])?(?:\s*\d{{1,2}}(?:\.\d+)?\s*["″])?{_HEMISPHERE}
      | [-+]?(?<![\w.])\d{{1,3}}\.\d{{2,}}{_HEMISPHERE}
      | \b\d{{1,2}}[C-HJ-NP-X]\s?[A-HJ-NP-Z]{{2}}\s?\d{{2,5}}\s?\d{{2,5}}\b""",
    re.VERBOSE,
)
_WITHHELD = "[…]"
#: the most remarks quoted per sector, and the longest quote
MAX_REMARKS, MAX_REMARK_CHARS = 3, 300


def scrub_remark(text: str, source_ids: Collection[str]) -> str:
    """``text`` with positions and the ids of ``source_ids`` replaced by ``[…]``."""
    out = _POSITION.sub(_WITHHELD, text)
    for sid in sorted(source_ids, key=len, reverse=True):
        if sid and sid.casefold() in out.casefold():
            out = re.sub(re.escape(sid), _WITHHELD, out, flags=re.IGNORECASE)
    return out


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REMARK_CHARS else text[: MAX_REMARK_CHARS - 1] + "…"


def edition_remarks(
    remarks: list[dict[str, Any]], source_ids: Collection[str], edition: str
) -> list[dict[str, Any]]:
    """Remarks on verified incidents as ``edition`` quotes them: ``{incident, time, text,
    source?}`` (restricted: every source's, with its id; public: mission monitors' only,
    without id, position or any source's id in the text)."""
    check_edition(edition)
    out = []
    for r in remarks:
        time = datetime.fromtimestamp(int(r["t"]), UTC).strftime("%H:%M")
        if edition == RESTRICTED:
            out.append({"incident": r["incident"], "time": time, "text": _quote(r["text"]),
                        "source": r["source_id"]})  # fmt: skip
        elif r["source_type"] == "monitor":
            text = _quote(scrub_remark(r["text"], source_ids))
            out.append({"incident": r["incident"], "time": time, "text": text, "source": None})
    return out
