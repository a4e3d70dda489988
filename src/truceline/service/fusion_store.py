"""Reading what fusion needs from the store, as columns (numpy arrays), never ORM objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Select, func, select

from truceline.geo.projection import Projector
from truceline.store.schema import (
    incident_observations,
    incidents,
    observations,
    settings,
    source_grades,
    sources,
)

__all__ = [
    "Columns",
    "fused_near",
    "members_of",
    "projector_for",
    "source_info",
    "unfused",
]

Columns = dict[str, NDArray[Any]]
_IN_CHUNK = 900
PROJECTION_KEY = "fusion_projection_centre"
OBS = observations.c
_OBS_COLS = tuple(
    OBS[name]
    for name in (
        "id", "source_id", "t", "t_unc_s", "lon", "lat", "radius_m", "obs_lon", "obs_lat",
        "bearing_deg", "bearing_sd_deg", "range_min_m", "range_max_m", "kind", "weapon_class",
        "count", "credibility",
    )
)  # fmt: skip
_FLOATS = {"t_unc_s", "lon", "lat", "radius_m", "obs_lon", "obs_lat", "bearing_deg",
           "bearing_sd_deg", "range_min_m", "range_max_m"}  # fmt: skip
_INTS = {"id", "t", "count", "credibility", "incident_id"}


def _columns(rows: Sequence[Any], names: Sequence[str]) -> Columns:
    out: Columns = {}
    for k, name in enumerate(names):
        col = [r[k] for r in rows]
        if name in _FLOATS:
            out[name] = np.array([np.nan if v is None else v for v in col], np.float64)
        elif name in _INTS:
            out[name] = np.array(col, np.int64).reshape(len(col))
        else:
            out[name] = np.array(col, dtype=object).reshape(len(col))
    return out


def _fetch(conn: Connection, q: Select[Any]) -> Columns:
    names = [c.name for c in q.selected_columns]
    return _columns(conn.execute(q).all(), names)


def unfused(conn: Connection) -> Columns:
    """Every observation not yet in an incident, by id."""
    io = incident_observations.c
    q = (
        select(*_OBS_COLS)
        .outerjoin(incident_observations, io.observation_id == OBS.id)
        .where(io.observation_id.is_(None))
        .order_by(OBS.id)
    )
    return _fetch(conn, q)


def _member_query() -> Select[Any]:
    """Fused observations with their incident; a bearing-only one placed at its incident."""
    io, ic = incident_observations.c, incidents.c
    located = OBS.lon.isnot(None)
    cols = [c for c in _OBS_COLS if c.name not in ("lon", "lat", "radius_m")]
    return (
        select(
            *cols,
            func.coalesce(OBS.lon, ic.lon).label("lon"),
            func.coalesce(OBS.lat, ic.lat).label("lat"),
            func.coalesce(OBS.radius_m, ic.radius_m).label("radius_m"),
            io.incident_id,
            located.label("located"),
        )
        .join(incident_observations, io.observation_id == OBS.id)
        .join(incidents, ic.id == io.incident_id)
    )


def fused_near(
    conn: Connection,
    t: NDArray[np.int64],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    reach_t: float,
    reach_m: float,
    bucket_s: int = 3600,
) -> Columns:
    """Fused observations within reach of the new ones (``t``, ``lon``, ``lat``).

    One indexed time-range query per hour holding new observations, bounded by the box
    of that hour's observations widened by the reach; so a store of millions is never
    read whole, even when late reports are scattered over its whole period."""
    io, ic = incident_observations.c, incidents.c
    lon_c, lat_c = func.coalesce(OBS.lon, ic.lon), func.coalesce(OBS.lat, ic.lat)
    base = (
        select(
            OBS.id, OBS.t, OBS.t_unc_s, lon_c.label("lon"), lat_c.label("lat"),
            func.coalesce(OBS.radius_m, ic.radius_m).label("radius_m"), io.incident_id,
        )
        .join(incident_observations, io.observation_id == OBS.id)
        .join(incidents, ic.id == io.incident_id)
    )  # fmt: skip
    parts = [_fetch(conn, base.where(OBS.id < 0))]
    bucket = t // bucket_s
    order = np.argsort(bucket, kind="stable")
    cuts = np.flatnonzero(np.diff(bucket[order])) + 1
    reach_m *= 1.25  # generous: projected distances stretch away from the centre
    dlat = reach_m / 110_000.0
    rt = int(np.ceil(reach_t))
    for g in np.split(order, cuts) if len(t) else []:
        la0, la1 = float(lat[g].min()) - dlat, float(lat[g].max()) + dlat
        cos = np.cos(np.radians(min(89.0, max(abs(la0), abs(la1)))))
        dlon = reach_m / (110_000.0 * cos)
        q = base.where(
            OBS.t >= int(t[g].min()) - rt,
            OBS.t <= int(t[g].max()) + rt,
            lon_c.between(float(lon[g].min()) - dlon, float(lon[g].max()) + dlon),
            lat_c.between(la0, la1),
        )
        parts.append(_fetch(conn, q))
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    _, first = np.unique(out["id"], return_index=True)
    return {k: v[first] for k, v in out.items()}


def members_of(conn: Connection, ids: Sequence[int]) -> Columns:
    """All member observations of the incidents ``ids``."""
    io = incident_observations.c
    parts = [
        _fetch(conn, _member_query().where(io.incident_id.in_(list(ids[s : s + _IN_CHUNK]))))
        for s in range(0, max(len(ids), 1), _IN_CHUNK)
    ]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def source_info(
    conn: Connection, source_id: NDArray[Any], t: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
    """Per observation: its source's independence-group code and the reliability grade in
    force at the observation's time (the earliest grade if none was yet)."""
    srcs = {r[0]: r[1] for r in conn.execute(select(sources.c.id, sources.c.independence_group))}
    groups = {g: k for k, g in enumerate(sorted(set(srcs.values())))}
    gcode = np.array([groups.get(srcs.get(s, s), -1) for s in source_id], np.int64)
    unknown = gcode < 0  # a source not registered is its own group
    if unknown.any():
        extra = {s: len(groups) + k for k, s in enumerate(sorted(set(source_id[unknown])))}
        gcode[unknown] = [extra[s] for s in source_id[unknown]]
    g = source_grades.c
    rows = conn.execute(
        select(g.source_id, g.valid_from, g.reliability).order_by(g.source_id, g.valid_from, g.id)
    ).all()
    rel = np.full(len(source_id), "F", dtype="<U1")
    if not rows:
        return gcode, rel
    names = np.unique(np.array([r[0] for r in rows], dtype=str))
    g_code = np.searchsorted(names, np.array([r[0] for r in rows], dtype=str))
    g_key = (g_code << 34) + (np.array([r[1] for r in rows], np.int64) + (1 << 33))
    g_rel = np.array([str(r[2]) for r in rows], dtype="<U1")
    o = np.argsort(g_key, kind="stable")
    g_key, g_code, g_rel = g_key[o], g_code[o], g_rel[o]
    src = np.asarray(source_id, dtype=str)
    code = np.clip(np.searchsorted(names, src), 0, len(names) - 1)
    known = names[code] == src
    k = np.searchsorted(g_key, (code << 34) + (t + (1 << 33)), "right") - 1
    first = np.searchsorted(g_key, code << 34, "left")  # the earliest grade of the source
    k = np.where((k >= 0) & (g_code[np.maximum(k, 0)] == code), k, first)
    ok = known & (k < len(g_key))
    rel[ok] = g_rel[k[ok]]
    return gcode, rel


def projector_for(
    conn: Connection, lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> Projector:
    """The workspace's fusion projection: fixed at the first fusion (centre of that batch,
    rounded to whole degrees) and kept, so distances never change between runs."""
    row = conn.execute(select(settings.c.value).where(settings.c.key == PROJECTION_KEY)).first()
    if row is not None:
        lat0, lon0 = (float(v) for v in str(row[0]).split(","))
        return Projector(lat0, lon0)
    ok = np.isfinite(lon) & np.isfinite(lat)
    lat0 = float(np.round((lat[ok].min() + lat[ok].max()) / 2)) if ok.any() else 0.0
    lon0 = float(np.round((lon[ok].min() + lon[ok].max()) / 2)) if ok.any() else 0.0
    conn.execute(settings.insert().values(key=PROJECTION_KEY, value=f"{lat0},{lon0}"))
    return Projector(lat0, lon0)
