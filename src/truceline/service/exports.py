"""Export incidents and findings of a period for other tools: STIX 2.1 (intelligence
platforms), HXL-tagged CSV (humanitarian data exchange) or GeoJSON (GIS), in the
public tier (cut by ``report.editions``, as the public edition of reports and the
public API show them) or the restricted one."""

from __future__ import annotations

import json
from typing import Any

from truceline.domain.errors import InputError
from truceline.report.editions import check_edition, edition_view
from truceline.service.workspace import Workspace
from truceline.store import reports as q
from truceline.store.db import reading

__all__ = ["FORMATS", "export_records"]

FORMATS = ("stix", "hxl", "geojson")
WHAT = ("incidents", "findings")


def _geojson(incidents: list[dict[str, Any]]) -> str:
    keep = ("id", "kind", "weapon_class", "count", "status", "confidence", "sector",
            "t_start", "t_end", "radius_m", "place", "n_groups")  # fmt: skip
    features = [
        {
            "type": "Feature",
            "id": i["id"],
            "geometry": {"type": "Point", "coordinates": [i["lon"], i["lat"]]},
            "properties": {k: i.get(k) for k in keep},
        }
        for i in incidents
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def export_records(
    ws: Workspace,
    what: str,
    fmt: str,
    since: int,
    until: int,
    *,
    edition: str = "public",
    mission: str = "truceline mission",
) -> str:
    """Incidents (``what="incidents"``, with the findings on them for STIX) or findings
    whose time lies in ``[since, until)``, as ``fmt`` text in ``edition``'s tier."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if what not in WHAT:
        raise InputError(f"unknown records {what!r}: choose incidents or findings")
    if until <= since:
        raise InputError("the period ends before it starts")
    if fmt == "geojson" and what != "incidents":
        raise InputError("GeoJSON exports incidents only")
    check_edition(edition)
    with reading(ws.engine, "reading records to export") as conn:
        incidents = q.period_incidents(conn, since, until)
        findings = q.period_findings(conn, since, until)
    incidents, findings, _ = edition_view(incidents, findings, [], edition)
    if fmt == "geojson":
        return _geojson(incidents)
    if fmt == "hxl":
        from truceline.interchange.hxl import FINDING_COLUMNS, INCIDENT_COLUMNS, hxl_csv

        if what == "incidents":
            return hxl_csv(incidents, INCIDENT_COLUMNS)
        return hxl_csv(findings, FINDING_COLUMNS)
    from truceline.interchange.stix import stix_bundle

    return stix_bundle(incidents if what == "incidents" else [], findings, mission)
