"""What fusion reads from the store, as columns (numpy arrays), never ORM objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    MetaData,
    Select,
    Table,
    and_,
    select,
)

from truceline.store.bulk import copy_rows, fetch_array, insert_many
from truceline.store.column_reads import read_columns
from truceline.store.schema import (
    incident_observations,
    incidents,
    observations,
    settings,
    sources,
)

__all__ = [
    "Columns",
    "fused_near",
    "insert_memberships",
    "members_of",
    "projection_centre",
    "save_projection_centre",
    "source_groups",
    "unfused",
]

Columns = dict[str, NDArray[Any]]
_IN_CHUNK = 900
_MAX_RUNS = 15
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
#: what fusion needs of an incident's members
MEMBER_COLS = ("id", "source_id", "t", "t_unc_s", "lon", "lat", "radius_m", "kind",
               "weapon_class", "count", "credibility")  # fmt: skip
_FLOATS = {"t_unc_s", "lon", "lat", "radius_m", "obs_lon", "obs_lat", "bearing_deg",
           "bearing_sd_deg", "range_min_m", "range_max_m"}  # fmt: skip
_INTS = {"id", "t", "count", "credibility", "incident_id"}
_TYPES = {**dict.fromkeys(_FLOATS, np.float64), **dict.fromkeys(_INTS, np.int64)}


def _fetch(conn: Connection, q: Select[Any]) -> Columns:
    types = {c.name: _TYPES.get(c.name, object) for c in q.selected_columns}
    out = fetch_array(conn, q, types)
    return {k: _shared(v) if v.dtype == object else v for k, v in out.items()}


def _shared(col: NDArray[Any]) -> NDArray[Any]:
    """``col`` (strings or None) with one string object per distinct value."""
    return _objects(pa.array(col, pa.string(), from_pandas=True)) if len(col) else col


_BEARING = ("obs_lon", "obs_lat", "bearing_deg", "bearing_sd_deg", "range_min_m", "range_max_m")


def unfused(conn: Connection) -> Columns:
    """Every observation not yet in an incident, by id, read in bulk
    (``store.column_reads``); the bearing columns are read for the observations without
    a point of their own only (NaN elsewhere)."""
    io = incident_observations.c
    waiting = ~select(io.observation_id).where(io.observation_id == OBS.id).exists()
    out = _point_columns(conn, waiting)
    n = len(out["id"])
    for name in _BEARING:
        out[name] = np.full(n, np.nan)
    if n and np.isnan(out["lon"]).any():
        bare = _fetch(
            conn,
            select(OBS.id, *(OBS[c] for c in _BEARING))
            .where(waiting, OBS.lon.is_(None))
            .order_by(OBS.id),
        )
        at = np.searchsorted(out["id"], bare["id"])
        for name in _BEARING:
            out[name][at] = bare[name]
    return {c.name: out[c.name] for c in _OBS_COLS}


_POINT_READ = (("id", pa.int64()), ("t", pa.int64()), ("count", pa.int64()),
               ("credibility", pa.int64()), ("source_id", pa.string()), ("kind", pa.string()),
               ("weapon_class", pa.string()), ("t_unc_s", pa.float64()), ("lon", pa.float64()),
               ("lat", pa.float64()), ("radius_m", pa.float64()))  # fmt: skip


def _point_columns(conn: Connection, where: Any) -> Columns:
    """The columns of the observations ``where`` holds, but for the bearing ones, by id,
    read in bulk (``store.column_reads``): NaN for a missing float."""
    q = select(*(OBS[c] for c, _ in _POINT_READ)).where(where).order_by(OBS.id)
    got = read_columns(conn, q, [t for _, t in _POINT_READ], key="id")
    out: Columns = {}
    for c, t in _POINT_READ:
        col = got[c]
        if pa.types.is_string(t):
            out[c] = _objects(col)
        elif pa.types.is_floating(t):
            out[c] = col.to_numpy(zero_copy_only=False)
        else:
            out[c] = col.to_numpy().astype(np.int64)
    return out


def _objects(col: pa.Array) -> NDArray[Any]:
    """A string column as an object array (None for null) holding one string object per
    distinct value: a source id, kind or weapon class repeats over a million rows."""
    d = col.dictionary_encode()
    values = np.array([*d.dictionary.to_pylist(), None], dtype=object)
    out: NDArray[Any] = values[d.indices.fill_null(len(d.dictionary)).to_numpy()]
    return out


_BOX_COLS = ("t_lo", "t_hi", "lon_lo", "lon_hi", "lat_lo", "lat_hi")
_REACH = Table(
    "tl_fusion_reach",
    MetaData(),
    *(Column(c, BigInteger) for c in ("t_lo", "t_hi")),
    *(Column(c, Float) for c in ("lon_lo", "lon_hi", "lat_lo", "lat_hi")),
    prefixes=["TEMPORARY"],
)


def _concat(parts: list[Columns]) -> Columns:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _by_ids(conn: Connection, q: Select[Any], col: Any, ids: Sequence[int]) -> Columns:
    """``q`` restricted to ``col IN ids``, in chunks (bounded parameter lists), in
    ascending order of ``col``: callers look rows up by binary search, and a database
    returns rows without ORDER BY in whatever order its plan gives (PostgreSQL's heap
    order changes as rows are updated)."""
    ids = sorted(ids)
    parts = [
        _fetch(conn, q.where(col.in_(list(ids[s : s + _IN_CHUNK]))).order_by(col))
        for s in range(0, len(ids), _IN_CHUNK)
    ]
    return _concat(parts) if parts else _fetch(conn, q.where(col.in_([-1])))


def _place_bare(conn: Connection, out: Columns) -> Columns:
    """A bearing-only observation (no point of its own) is placed at its incident."""
    bare = np.flatnonzero(~np.isfinite(out["lon"]))
    if len(bare):
        ic = incidents.c
        inc = _by_ids(conn, select(ic.id, ic.lon, ic.lat, ic.radius_m), ic.id,
                      list(set(out["incident_id"][bare].tolist())))  # fmt: skip
        k = np.searchsorted(inc["id"], out["incident_id"][bare])
        for c in ("lon", "lat", "radius_m"):
            out[c][bare] = inc[c][k]
    return out


_NEAR_COLS = (
    *(OBS[c] for c in ("id", "t", "t_unc_s", "lon", "lat", "radius_m")),
    incident_observations.c.incident_id,
)


def fused_near(
    conn: Connection,
    t: NDArray[np.int64],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    reach_t: NDArray[np.float64],
    dlon: NDArray[np.float64],
    dlat: NDArray[np.float64],
) -> Columns:
    """Fused observations within reach (per new observation, seconds and a lon/lat box
    of half-widths ``dlon``, ``dlat``) of the new ones (``t``, ``lon``, ``lat``).

    The reach box of every new observation goes into a temporary table joined to the
    observations on the time index, so a store of millions is never read whole, even
    when late reports are scattered over its whole period. Bearing-only observations
    (no point of their own) are taken in the time ranges and placed at their incident."""
    rt = np.ceil(reach_t).astype(np.int64)
    io = incident_observations.c
    if conn.execute(select(io.observation_id).limit(1)).first() is None:
        return _fetch(conn, select(*_NEAR_COLS).where(OBS.id < 0))  # nothing fused yet
    boxes = list(zip((t - rt).tolist(), (t + rt).tolist(), (lon - dlon).tolist(),
                     (lon + dlon).tolist(), (lat - dlat).tolist(), (lat + dlat).tolist(),
                     strict=True))  # fmt: skip
    cols = list(_NEAR_COLS)
    _REACH.create(conn, checkfirst=True)
    try:
        insert_many(conn, _REACH, _BOX_COLS, boxes)
        b = _REACH.c
        q = (
            select(*cols)
            .distinct()
            .select_from(_REACH)
            .join(
                observations,
                and_(
                    OBS.t >= b.t_lo,
                    OBS.t <= b.t_hi,
                    OBS.lon >= b.lon_lo,
                    OBS.lon <= b.lon_hi,
                    OBS.lat >= b.lat_lo,
                    OBS.lat <= b.lat_hi,
                ),
            )
            .join(incident_observations, io.observation_id == OBS.id)
            .order_by(OBS.id)
        )
        located = _fetch(conn, q)
        bare = _bearing_only(conn, t, int(rt.max(initial=0)), cols)
    finally:
        _REACH.drop(conn)
    return _place_bare(conn, _concat([located, bare]))


def _bearing_only(conn: Connection, t: NDArray[np.int64], rt: int, cols: list[Any]) -> Columns:
    """Fused observations without a point of their own, within ``rt`` of a time in ``t``:
    one indexed range query per run of times closer than ``2 rt`` (at most ``_MAX_RUNS``
    + 1 runs: scanning a longer range costs less than many queries)."""
    io = incident_observations.c
    base = (
        select(*cols)
        .select_from(observations)
        .join(incident_observations, io.observation_id == OBS.id)
    )
    parts = [_fetch(conn, base.where(OBS.id < 0))]
    # one scan says whether there is any (usually none): cheaper than the time ranges
    none = conn.execute(select(OBS.id).where(OBS.lon.is_(None)).limit(1)).first() is None
    if len(t) and not none:
        ts = np.unique(t)
        gaps = np.diff(ts)
        cut = np.flatnonzero(gaps > 2 * rt)
        cut = np.sort(cut[np.argsort(gaps[cut])[::-1][:_MAX_RUNS]]) + 1  # widest gaps only
        for a, b in zip(ts[np.r_[0, cut]] - rt, ts[np.r_[cut - 1, len(ts) - 1]] + rt, strict=True):
            q = base.where(OBS.t >= int(a), OBS.t <= int(b), OBS.lon.is_(None))
            parts.append(_fetch(conn, q))
    return _concat(parts)


_IDS = Table("tl_fusion_ids", MetaData(), Column("id", BigInteger), prefixes=["TEMPORARY"])


def members_of(conn: Connection, ids: Sequence[int]) -> Columns:
    """All member observations of the incidents ``ids``, with ``incident_id``."""
    io = incident_observations.c
    _IDS.create(conn, checkfirst=True)
    try:
        if ids:
            insert_many(conn, _IDS, ("id",), [(int(i),) for i in ids])
        q = (
            select(*(OBS[c] for c in MEMBER_COLS), io.incident_id)
            .select_from(incident_observations)
            .join(observations, OBS.id == io.observation_id)
            .where(io.incident_id.in_(select(_IDS.c.id)))
        )
        out = _fetch(conn, q)
    finally:
        _IDS.drop(conn)
    return _place_bare(conn, out)


_WRITE_CHUNK = 65_536  # rows per statement: the Python tuples of one chunk at a time


def insert_memberships(
    conn: Connection, observation_ids: NDArray[np.int64], incident_ids: NDArray[np.int64]
) -> None:
    """Observation ``observation_ids[i]`` is a member of incident ``incident_ids[i]``:
    written in ascending observation order (the table's key), a chunk at a time, so a
    million memberships never stand as a million Python tuples at once (``COPY`` on
    PostgreSQL)."""
    o = np.argsort(observation_ids, kind="stable")
    obs, inc = observation_ids[o], incident_ids[o]
    names = ("observation_id", "incident_id")
    for lo in range(0, len(obs), _WRITE_CHUNK):
        rows = zip(obs[lo : lo + _WRITE_CHUNK].tolist(), inc[lo : lo + _WRITE_CHUNK].tolist(),
                   strict=True)  # fmt: skip
        if conn.dialect.name == "postgresql":
            copy_rows(conn, incident_observations.name, names, rows)
        else:
            insert_many(conn, incident_observations, names, list(rows))


def source_groups(conn: Connection) -> dict[str, str]:
    """``source id -> independence group`` of every registered source."""
    return {
        str(r[0]): str(r[1])
        for r in conn.execute(select(sources.c.id, sources.c.independence_group))
    }


def projection_centre(conn: Connection) -> tuple[float, float] | None:
    """The workspace's fusion projection centre ``(lat0, lon0)``, once fixed."""
    row = conn.execute(select(settings.c.value).where(settings.c.key == PROJECTION_KEY)).first()
    if row is None:
        return None
    lat0, lon0 = (float(v) for v in str(row[0]).split(","))
    return lat0, lon0


def save_projection_centre(conn: Connection, lat0: float, lon0: float) -> None:
    conn.execute(settings.insert().values(key=PROJECTION_KEY, value=f"{lat0},{lon0}"))
