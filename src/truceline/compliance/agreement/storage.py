"""``[[storage_site]]``: the storage sites an agreement names, with their declared holdings.

Each site has an id, a name, the party that holds it, its holdings (weapon class ->
count declared kept there) and a footprint: ``center`` + ``radius_km``, or ``file``
(a Polygon GeoJSON). The footprint becomes a zone of kind ``storage_site`` with the
site's id, so rules and maps find it like any other zone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from truceline.compliance.agreement.model import StorageSite, Zone
from truceline.domain.vocab import WeaponClass

if TYPE_CHECKING:
    from truceline.compliance.agreement.loader import _Doc

__all__ = ["storage_sites"]

_MAX_HOLDING = 10_000_000


def storage_sites(
    d: _Doc, party_ids: set[str], zone_ids: set[str]
) -> tuple[tuple[StorageSite, ...], list[Zone]]:
    """The sites of ``[[storage_site]]`` and their footprints as zones."""
    known = [w.value for w in WeaponClass]
    sites: list[StorageSite] = []
    zones: list[Zone] = []
    for i, s in enumerate(d.tables("storage_site"), start=1):
        key = f"storage_site[{i}]"
        d.table(s, key, {"id", "name", "party", "holdings"}, {"center", "radius_km", "file"})
        sid = d.text(s["id"], f"{key}.id")
        if sid in zone_ids or sid in {x.id for x in sites}:
            raise d.fail(f"{key}.id", f"zone id {sid!r} used twice")
        if s["party"] not in party_ids:
            raise d.fail(f"{key}.party", f"unknown party {s['party']!r}")
        holdings = _holdings(d, s["holdings"], f"{key}.holdings", known)
        geom, radius = d.footprint(s, key)
        party = str(s["party"])
        sites.append(StorageSite(sid, d.text(s["name"], f"{key}.name"), party, holdings))
        zones.append(Zone(sid, "storage_site", party, None, radius, geom))
    return tuple(sites), zones


def _holdings(d: _Doc, v: Any, key: str, known: list[str]) -> dict[str, int]:
    if not isinstance(v, dict) or not v:
        raise d.fail(key, f"expected a table of weapon class = count, got {v!r}")
    out: dict[str, int] = {}
    for cls, n in v.items():
        if cls not in known:
            raise d.fail(f"{key}.{cls}", f"unknown weapon class (known: {', '.join(known)})")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= _MAX_HOLDING:
            raise d.fail(f"{key}.{cls}", f"expected a whole number from 0 to {_MAX_HOLDING}")
        out[str(cls)] = n
    return out
