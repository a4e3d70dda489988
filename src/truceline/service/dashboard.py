"""What the dashboard needs beyond the API's records: the agreement's zones as a
map layer (public: the agreement is a published text, less what ``report.editions``
withholds, as the open data does)."""

from __future__ import annotations

from typing import Any

from truceline.domain.errors import NotFound
from truceline.report.editions import zone_published
from truceline.service.workspace import Workspace

__all__ = ["agreement_layers"]

#: degrees; zones are drawn at screen scale, not surveyed
_SIMPLIFY = 0.002
_KINDS = ("control", "buffer", "withdrawal_band", "exclusion", "sector", "contact_line")


def agreement_layers(ws: Workspace) -> dict[str, Any]:
    """The zones of the agreement in force as a GeoJSON FeatureCollection (simplified
    for the screen); an empty collection when no agreement is loaded."""
    import shapely

    from truceline.service.agreements import find_agreement

    try:
        a = find_agreement(ws)
    except NotFound:
        return {"type": "FeatureCollection", "features": [], "agreement": None}
    parties = {p.id: p.name for p in a.parties}
    features = [
        {
            "type": "Feature",
            "id": z.id,
            "geometry": shapely.geometry.mapping(shapely.simplify(z.geometry, _SIMPLIFY)),
            "properties": {
                "id": z.id,
                "kind": z.kind,
                "party": z.party,
                "party_name": parties.get(z.party or ""),
                "weapon_class": z.weapon_class,
            },
        }
        for z in a.zones
        if z.kind in _KINDS and zone_published(z.kind)
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "agreement": {"id": a.id, "version": a.version, "title": a.title},
    }
