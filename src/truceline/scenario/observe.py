"""How each source sees the scenario's events: detection, error, what it reports.

Each ``observe_*`` function returns a block of observation columns (a dict of
lists keyed by :data:`OBSERVATION_SCHEMA` field names); :func:`to_table` joins the
blocks into one table. Detection falls off with distance; cameras and patrols see
what is near, acoustic arrays report bearings only, parties allege fire on their own
side and blame the other side, open sources are late and coarse.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from pyproj import Geod

from truceline.domain.observations import OBSERVATION_SCHEMA
from truceline.scenario.events import Fire
from truceline.scenario.roster import SourceSpec
from truceline.scenario.theatre import Theatre

__all__ = ["Block", "block", "fire_words", "to_table"]

Block = dict[str, list[Any]]
FloatArray = NDArray[np.float64]
_GEOD = Geod(ellps="WGS84")


def block(
    th: Theatre,
    src: SourceSpec,
    t: NDArray[np.int64],
    *,
    t_unc_s: float,
    kind: NDArray[np.str_],
    count: NDArray[np.int64],
    credibility: int,
    x: FloatArray | None = None,
    y: FloatArray | None = None,
    radius_m: FloatArray | None = None,
    bearing_to: tuple[FloatArray, FloatArray] | None = None,
    bearing_sd: float = 0.0,
    rng: np.random.Generator | None = None,
    range_m: tuple[FloatArray, FloatArray] | None = None,
    weapon_class: NDArray[np.str_] | None = None,
    actor: list[str | None] | None = None,
    description: list[str] | None = None,
    event: NDArray[np.int64] | None = None,
    obs_at: tuple[FloatArray, FloatArray] | None = None,
) -> Block:
    """The observations one source makes: a point (``x, y, radius_m``) or a bearing
    from its position (``obs_at`` or its fixed post) towards ``bearing_to``."""
    n = len(t)
    none: list[Any] = [None] * n
    out: Block = {f.name: none for f in OBSERVATION_SCHEMA}
    out.update(
        source_id=[src.id] * n,
        source_type=[src.type] * n,
        t=[int(v) for v in t],
        t_unc_s=[float(t_unc_s)] * n,
        kind=[str(k) for k in kind],
        count=[int(c) for c in count],
        credibility=[int(credibility)] * n,
    )
    if x is not None and y is not None and radius_m is not None:
        lon, lat = th.to_lonlat(x, y)
        out.update(lon=_r(lon, 5), lat=_r(lat, 5), radius_m=[float(round(r, -1)) for r in radius_m])
    if bearing_to is not None and rng is not None:
        ox, oy = obs_at if obs_at is not None else (np.full(n, src.x), np.full(n, src.y))
        olon, olat = th.to_lonlat(ox, oy)
        tlon, tlat = th.to_lonlat(*bearing_to)
        az, _, _ = _GEOD.inv(olon, olat, tlon, tlat)
        az = (np.asarray(az) + rng.normal(0.0, bearing_sd, n)) % 360.0
        out.update(
            obs_lon=_r(olon, 5),
            obs_lat=_r(olat, 5),
            bearing_deg=_r(az, 1),
            bearing_sd_deg=[float(bearing_sd)] * n,
        )
        if range_m is not None:
            out.update(range_min_m=_r(range_m[0], -2), range_max_m=_r(range_m[1], -2))
    if weapon_class is not None:
        out["weapon_class"] = [str(w) if w else None for w in weapon_class]
    if actor is not None:
        out["actor"] = list(actor)
    if description is not None:
        out["description"] = list(description)
    if event is not None:
        out["attrs"] = [json.dumps({"scenario_event": int(e)}) if e >= 0 else None for e in event]
    return out


def _r(a: FloatArray, nd: int) -> list[float]:
    return [float(v) for v in np.round(np.asarray(a, dtype=np.float64), nd)]


def to_table(blocks: list[Block]) -> pa.Table:
    """One table of all blocks, in time order, each record with a client id per source."""
    cols: dict[str, list[Any]] = {f.name: [] for f in OBSERVATION_SCHEMA}
    for b in blocks:
        for k in cols:
            cols[k].extend(b[k])
    table = pa.Table.from_pydict(cols, schema=OBSERVATION_SCHEMA)
    table = table.sort_by([("t", "ascending"), ("source_id", "ascending"), ("kind", "ascending")])
    src = table.column("source_id").to_pylist()
    seen: dict[str, int] = {}
    client = []
    for s in src:
        seen[s] = seen.get(s, 0) + 1
        client.append(f"{s}-{seen[s]:05d}")
    i = table.schema.get_field_index("client_id")
    return table.set_column(i, OBSERVATION_SCHEMA.field("client_id"), pa.array(client, pa.string()))


def fire_words(f: Fire, idx: NDArray[np.int64], how: str) -> list[str]:
    """Neutral description of fire events ``idx`` as ``how`` (seen, heard, ...)."""
    return [
        f"{how} {int(f.count[i])} x {f.kind[i]} ({f.weapon_class[i].replace('_', ' ')})"
        for i in idx
    ]
