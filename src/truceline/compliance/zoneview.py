"""Classifying incidents against an agreement's zones, once per batch.

One vectorised ``ZoneIndex.classify`` call (the geo package) per batch gives,
per incident, the party holding the ground, the distance to the contact line,
the reporting sector and the zone matrix. Building an index costs more than
classifying a day, so indexes are kept for the last few agreements (by object,
and by a digest of their zones, so a version read again from the store reuses
its index).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from truceline.compliance.rules.base import ZoneView
from truceline.geo.features import ZONE_KINDS
from truceline.geo.zones import ZoneIndex

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Agreement

__all__ = ["index_for", "zone_view"]

_BY_DIGEST: list[tuple[str, ZoneIndex]] = []  # the last few built
_BY_OBJECT: list[tuple[Agreement, ZoneIndex]] = []  # held strongly, so ids stay unique


def zone_view(agreement: Agreement, lon: npt.ArrayLike, lat: npt.ArrayLike) -> ZoneView:
    """The zone classification of points (lon/lat arrays) under ``agreement``."""
    index = index_for(agreement)
    c = index.classify(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    parties, zone_ids, sector_ids = list(index.parties), list(index.zone_ids), index.sector_ids
    return ZoneView(c.party, parties, c.dist_km, zone_ids, c.zones, c.sector, sector_ids)


def index_for(agreement: Agreement) -> ZoneIndex:
    """The zone index of ``agreement`` (built once per distinct set of zones).

    Only the zone kinds the index knows are given to it: a zone it does not
    classify is tested by the rule that uses it (``rules.zones.zone_mask``)."""
    index = next((ix for a, ix in _BY_OBJECT if a is agreement), None)
    if index is not None:
        return index
    feats = [
        f for f in agreement.zones_geojson()["features"] if f["properties"]["kind"] in ZONE_KINDS
    ]
    parties = sorted(str(p.id) for p in agreement.parties)
    key = hashlib.sha256(json.dumps([feats, parties], sort_keys=True).encode()).hexdigest()
    index = next((ix for k, ix in _BY_DIGEST if k == key), None)
    if index is None:
        index = ZoneIndex.from_features(feats, parties=parties)
        _BY_DIGEST[:] = [(key, index), *_BY_DIGEST[:3]]
    _BY_OBJECT[:] = [(agreement, index), *_BY_OBJECT[:3]]
    return index
