"""Incidents and findings as a STIX 2.1 bundle (built and validated with ``stix2``).

Each incident becomes an ``incident`` SDO, a ``location`` (its fused position, with the
95 % radius as ``precision``) and a ``sighting`` of the incident by the mission (first
and last seen, count, where sighted); each finding becomes a ``note`` on its incidents.
Confidence maps the fused confidence (0..1) onto STIX's 0..100 scale. Ids are UUIDv5 of
the mission and the record's id, so a re-export gives the same ids and platforms
de-duplicate. The mission is an ``identity`` and the creator of every object.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["stix_bundle"]

_NS = uuid.UUID("6b1e7a52-3c0e-5f7a-9d55-7e1c2b0f4a10")


def _id(kind: str, mission: str, ref: object) -> str:
    return f"{kind}--{uuid.uuid5(_NS, f'{mission}/{kind}/{ref}')}"


def _t(epoch: int) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def _confidence(p: object) -> int:
    return max(0, min(100, round(100 * float(p or 0.0))))  # type: ignore[arg-type]


def _incident_objects(i: Mapping[str, Any], mission: str, creator: str) -> list[Any]:
    import stix2

    inc_id = _id("incident", mission, i["id"])
    loc = stix2.Location(
        id=_id("location", mission, i["id"]),
        created_by_ref=creator,
        latitude=float(i["lat"]),
        longitude=float(i["lon"]),
        precision=float(i["radius_m"]),
        allow_custom=True,
    )
    name = f"{i['kind']} x{i['count']}" + (f" in sector {i['sector']}" if i.get("sector") else "")
    incident = stix2.Incident(
        id=inc_id,
        created_by_ref=creator,
        name=name,
        confidence=_confidence(i.get("confidence")),
        labels=[str(i["kind"]), str(i["status"])],
        custom_properties={
            "x_truceline_id": int(i["id"]),
            "x_truceline_status": str(i["status"]),
            "x_truceline_weapon_class": i.get("weapon_class"),
            "x_truceline_independent_groups": int(i.get("n_groups") or 0),
        },
    )
    sighting = stix2.Sighting(
        id=_id("sighting", mission, i["id"]),
        created_by_ref=creator,
        sighting_of_ref=inc_id,
        where_sighted_refs=[loc.id],
        first_seen=_t(i["t_start"]),
        last_seen=max(_t(i["t_end"]), _t(i["t_start"])),
        count=max(1, int(i["count"])),
        confidence=_confidence(i.get("confidence")),
    )
    return [loc, incident, sighting]


def _finding_note(f: Mapping[str, Any], mission: str, creator: str, known: set[str]) -> Any:
    import stix2

    refs = [r for n in f.get("incidents", []) if (r := _id("incident", mission, n)) in known]
    return stix2.Note(
        id=_id("note", mission, f"finding-{f['id']}"),
        created_by_ref=creator,
        abstract=f"finding {f['id']}: {f['rule_id']} ({f['status']})",
        content=str(f.get("summary") or ""),
        object_refs=refs or [creator],
        confidence=_confidence(f.get("confidence")),
        custom_properties={
            "x_truceline_rule": str(f["rule_id"]),
            "x_truceline_status": str(f["status"]),
            "x_truceline_party": f.get("party"),
        },
    )


def stix_bundle(
    incidents: Sequence[Mapping[str, Any]],
    findings: Sequence[Mapping[str, Any]],
    mission: str,
) -> str:
    """The bundle as STIX 2.1 JSON text."""
    import stix2

    creator = stix2.Identity(
        id=_id("identity", mission, "mission"), name=mission, identity_class="organization"
    )
    objects: list[Any] = [creator]
    for i in incidents:
        objects += _incident_objects(i, mission, creator.id)
    known = {o.id for o in objects}
    objects += [_finding_note(f, mission, creator.id, known) for f in findings]
    bundle = stix2.Bundle(
        objects=objects, id=_id("bundle", mission, len(objects)), allow_custom=True
    )
    return str(bundle.serialize(pretty=False))
