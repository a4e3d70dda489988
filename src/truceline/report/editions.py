"""What each reader may see: the rules every public and party-facing output applies.

Three tiers. ``restricted`` (the analyst, the restricted edition of reports) sees
everything. ``partner`` (a party liaison, a guarantor) and ``public`` (anyone; the
public edition of reports, open data, exports in public mode) see only *published*
incidents (:data:`PUBLISHED`: independent sources agree, or an analyst or technical
means confirmed it), always fused: never an observation, an observer's or a sensor's
position, nor a source's identity. Every face (daily report, assessment, the API's
incidents and findings, OGC API - Features, STIX/HXL/GeoJSON exports, the dashboard)
cuts its records with the functions here: :func:`incident_view`, :func:`finding_view`,
:func:`extent_view`, :func:`zone_published`.

The public tier besides

- names a party only on findings an analyst confirmed; an open finding says that its
  party is not named until reviewed, and is shown without its summary (a rule's
  summary, and its wording's arguments, may name the party it places); a finding graded
  ``unconfirmed`` is left out;
- never names an incident's actor nor gives the side of the line it lies on
  (attribution is published through findings only); it sees an incident's fields
  listed in :data:`PUBLIC_INCIDENT_FIELDS` and no other;
- gives positions of weapons, movements, inspections and weapons findings only as a
  0.1 degree grid cell and the nearest settlement, and of other incidents to 0.01
  degree (about a kilometre) with an uncertainty of at least a kilometre; a weapons
  finding whose party is withheld is told without its summary (which may name the
  party through a band's side or a storage site's holder);
- never shows an observer's or a sensor's identity or position: coverage gaps are
  summed by kind and source type, without source ids, notes or footprints; of the
  remarks on verified incidents it quotes only mission monitors', without their id,
  with positions (coordinates, grid references) and source ids in the text replaced
  by ``[…]``; a finding's review history (who, and their free-text reasons) is not shown;
- sees no storage site (where weapons are kept) among the agreement's zones.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from truceline.report.places import Place, nearest, nearest_many

__all__ = [
    "COARSE_DEG",
    "EDITIONS",
    "PARTNER",
    "PUBLIC",
    "PUBLIC_INCIDENT_FIELDS",
    "PUBLISHED",
    "RESTRICTED",
    "TIERS",
    "WEAPON_RULE_KINDS",
    "WITHHELD_ZONE_KINDS",
    "check_edition",
    "edition_remarks",
    "edition_view",
    "extent_view",
    "finding_view",
    "incident_view",
    "incidents_view",
    "public_coverage",
    "public_places",
    "scrub_remark",
    "visible_statuses",
    "zone_published",
]

PUBLIC = "public"
PARTNER = "partner"
RESTRICTED = "restricted"
#: the editions of reports and exports
EDITIONS = (PUBLIC, RESTRICTED)
#: every reader's tier: the editions and the parties' (and guarantors') between them
TIERS = (RESTRICTED, PARTNER, PUBLIC)
#: incident statuses the partner and public tiers see
PUBLISHED = ("corroborated", "verified")
#: the public grid for weapons, degrees
COARSE_DEG = 0.1
#: zone kinds never shown outside the restricted tier: a storage site's footprint is
#: where weapons are kept (targeting data)
WITHHELD_ZONE_KINDS = frozenset({"storage_site"})

#: kinds whose exact position is targeting data (an inspection's is a storage site's)
_WEAPON_KINDS = frozenset({"weapon_sighting", "movement", "foreign_unit", "inspection"})
#: rule kinds whose findings are about weapons: inside bands or areas, outside or
#: missing from storage sites, above declared holdings (their positions are coarsened too)
WEAPON_RULE_KINDS = frozenset(
    {"withdrawal_band", "withdrawal_area", "outside_storage", "storage_inventory",
     "holdings_observed", "ceiling"}
)  # fmt: skip
#: the only fields of an incident the public tier sees (those the reports and the API
#: derive from it: its time in ISO 8601, its place, how its position was coarsened)
PUBLIC_INCIDENT_FIELDS = frozenset(
    {"id", "t", "t_iso", "time", "time_known", "t_start", "t_end", "kind", "weapon_class",
     "count", "status", "confidence", "sector", "lon", "lat", "radius_m", "ellipse",
     "n_observations", "n_groups", "updated_at", "place", "position"}
)  # fmt: skip
#: a finding's fields naming (or wording) its party, withheld until an analyst confirms
_PARTY_FIELDS = ("party", "party_basis", "basis_wording")


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


def visible_statuses(tier: str) -> tuple[str, ...] | None:
    """The incident statuses ``tier`` sees (None: every status)."""
    _check_tier(tier)
    return None if tier == RESTRICTED else PUBLISHED


def _check_tier(tier: str) -> None:
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}")


def _public_incident(i: dict[str, Any], place: dict[str, Any] | None) -> dict[str, Any]:
    out = {k: v for k, v in i.items() if k in PUBLIC_INCIDENT_FIELDS}
    out["place"] = place or _as_place(nearest(float(i["lon"]), float(i["lat"])))
    if i["kind"] in _WEAPON_KINDS:
        out["lon"], out["lat"] = _snap(i["lon"], COARSE_DEG), _snap(i["lat"], COARSE_DEG)
        out["radius_m"] = max(float(i["radius_m"]), 8000.0)
        out["ellipse"] = None
        out["position"] = "grid 0.1 degree"
    else:
        out["lon"], out["lat"] = round(float(i["lon"]), 2), round(float(i["lat"]), 2)
        out["radius_m"] = max(float(i["radius_m"]), 1000.0)
        out["position"] = "rounded to 0.01 degree"
    return out


def incident_view(
    i: dict[str, Any], tier: str, place: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """An incident as ``tier`` sees it, or None where the tier does not see it
    (``place``: its nearest place, if already measured, as :func:`incidents_view` does)."""
    statuses = visible_statuses(tier)
    if statuses is not None and i["status"] not in statuses:
        return None
    if tier != PUBLIC:
        return dict(i)
    return _public_incident(i, place)


def incidents_view(incidents: Sequence[dict[str, Any]], tier: str) -> list[dict[str, Any]]:
    """The incidents ``tier`` sees, as it sees them (places measured at once)."""
    statuses = visible_statuses(tier)
    seen = [i for i in incidents if statuses is None or i["status"] in statuses]
    if tier != PUBLIC:
        return [dict(i) for i in seen]
    return [_public_incident(i, p) for i, p in zip(seen, _places(seen), strict=True)]


def _scrubbed(change: Any, source_ids: Collection[str]) -> Any:
    if isinstance(change, dict):
        return dict(change, reason=scrub_remark(str(change["reason"]), source_ids))
    return dataclasses.replace(change, reason=scrub_remark(change.reason, source_ids))


def finding_view(
    f: dict[str, Any], tier: str, source_ids: Collection[str] = ()
) -> dict[str, Any] | None:
    """A finding as ``tier`` sees it, or None where the tier does not see it. ``f`` is a
    finding as the reports read it (``wording``, ``basis_wording``) or as the store
    gives it (``evidence`` with ``summary`` and ``basis`` wordings, ``changes``). A
    partner reads the analysts' reasons for their reviews with positions and the ids of
    ``source_ids`` replaced by ``[…]``; the public reads no review at all."""
    _check_tier(tier)
    if tier == RESTRICTED:
        return dict(f)
    if tier == PARTNER:
        out = dict(f)
        if "changes" in out:
            out["changes"] = tuple(_scrubbed(c, source_ids) for c in out["changes"])
        return out
    if f.get("severity") == "unconfirmed" and f["status"] != "confirmed":
        return None
    out = dict(f)
    if "changes" in out:
        out["changes"] = ()  # who reviewed it, and why in their own words
    if f["status"] != "confirmed":
        for k in _PARTY_FIELDS:
            out[k] = None
        out["party_withheld"] = f.get("party") is not None
        ev = f.get("evidence")
        if isinstance(ev, dict):
            out["evidence"] = {k: v for k, v in ev.items() if k not in ("summary", "basis")}
            if not out["party_withheld"] and "summary" in ev:
                out["evidence"]["summary"] = ev["summary"]
        if out["party_withheld"]:
            out["summary"] = None  # a rule's summary may name the party it places
            out["wording"] = None
    weapon = f["rule_kind"] in WEAPON_RULE_KINDS
    for k in ("lon", "lat"):
        if out.get(k) is not None:
            out[k] = _snap(float(out[k]), COARSE_DEG) if weapon else round(float(out[k]), 2)
    return out


def extent_view(
    ext: tuple[float, float, float, float, int, int] | None, tier: str
) -> tuple[float, float, float, float, int, int] | None:
    """A bounding box and time span of incidents as ``tier`` sees it: the public's is
    widened outward to the weapons grid, so that no position shows through it."""
    _check_tier(tier)
    if ext is None or tier != PUBLIC:
        return ext
    x0, y0, x1, y1, t0, t1 = ext

    def down(v: float) -> float:
        return round(math.floor(round(v / COARSE_DEG, 9)) * COARSE_DEG, 6)

    def up(v: float) -> float:
        return round(math.ceil(round(v / COARSE_DEG, 9)) * COARSE_DEG, 6)

    return down(x0), down(y0), up(x1), up(y1), t0, t1


def zone_published(kind: str) -> bool:
    """Whether an agreement zone of ``kind`` may be shown outside the restricted tier."""
    return kind not in WITHHELD_ZONE_KINDS


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
    published = [p for f in findings if (p := finding_view(f, PUBLIC)) is not None]
    return incidents_view(incidents, PUBLIC), published, public_coverage(coverage)


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
