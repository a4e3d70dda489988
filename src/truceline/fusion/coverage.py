"""Coverage: where and when someone could have seen, so silence can be qualified.

A source declares :class:`CoverageRecord` s: ``observed`` (an observation post's field
of view over its hours, a patrol's buffered route over its time), ``outage`` (a
sensor down; no geometry = the whole source) and ``denied`` (monitors refused
passage or restricted: what they could not see; no geometry = nowhere that day).

:func:`observed_fraction` gives, per sector, the share of ``area x period`` some source
could observe: at each moment the union over sources of (observed minus that
source's outages and denials), integrated over the elementary intervals between
record boundaries. Areas are taken on a local equal-scale plane (metres from the
sectors' centre), fine for ratios over a theatre.

:func:`restriction_gaps` turns the mission's own reports of restrictions (of any
type: access denied, delayed or granted on conditions, its UAVs jammed) into ``denied`` records
with that reason: the area around the place was not observed because access was
denied, which a report must say rather than count it as calm.

:func:`silent_sensors` names, per incident, the sources whose coverage held its place
and time but which are not among its reporters: negative evidence for grading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from truceline.geo.geodesy import degrees_per_metre, metres_per_degree

__all__ = [
    "COVERAGE_KINDS",
    "CoverageRecord",
    "GAP_KINDS",
    "RESTRICTED_RADIUS_M",
    "buffer_metres",
    "daily_windows",
    "observed_fraction",
    "restriction_gaps",
    "silent_sensors",
]

COVERAGE_KINDS = ("observed", "outage", "denied")
#: restriction kinds that leave an area unobserved: every one (``domain.vocab.RESTRICTION_KINDS``)
GAP_KINDS = ("restriction", "access_denied", "access_delayed", "access_conditional", "uav_jamming")
#: the area around a restriction counted as not observed: at least this radius
RESTRICTED_RADIUS_M = 5000.0
#: how long a delay keeps the area unobserved when ``attrs.delay_min`` does not say
DEFAULT_DELAY_S = 3600
_DAY = 86400


@dataclass(frozen=True, slots=True)
class CoverageRecord:
    source_id: str
    kind: str  # observed | outage | denied
    t_start: int
    t_end: int  # exclusive
    geometry: BaseGeometry | None  # lon/lat; None = the whole source (outage, denied)
    reason: str | None = None  # a denial's cause: the restriction kind it comes from


def _to_plane(geom: BaseGeometry, lon0: float, lat0: float) -> BaseGeometry:
    dlon, dlat = degrees_per_metre(lat0)

    def f(c: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(np.c_[(c[:, 0] - lon0) / dlon, (c[:, 1] - lat0) / dlat], np.float64)

    return shapely.transform(geom, f)


def _from_plane(geom: BaseGeometry, lon0: float, lat0: float) -> BaseGeometry:
    dlon, dlat = degrees_per_metre(lat0)

    def f(c: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(np.c_[c[:, 0] * dlon + lon0, c[:, 1] * dlat + lat0], np.float64)

    return shapely.transform(geom, f)


def buffer_metres(geom: BaseGeometry, metres: float) -> BaseGeometry:
    """``geom`` (lon/lat) buffered by ``metres`` on a local plane: a patrol route's swath."""
    c = geom.centroid
    return _from_plane(_to_plane(geom, c.x, c.y).buffer(metres), c.x, c.y)


def daily_windows(t0: int, t1: int, start_s: int, end_s: int) -> list[tuple[int, int]]:
    """The windows of ``[t0, t1)`` between ``start_s`` and ``end_s`` seconds of each UTC day
    (``end_s <= start_s``: overnight, e.g. 18:00-06:00)."""
    day = 86400
    span = (end_s - start_s) % day or day
    out = []
    d = (t0 // day - 1) * day
    while d < t1:
        a, b = max(d + start_s, t0), min(d + start_s + span, t1)
        if b > a:
            out.append((a, b))
        d += day
    return out


def restriction_gaps(
    source_id: Sequence[str],
    kind: Sequence[str],
    t: ArrayLike,
    lon: ArrayLike,
    lat: ArrayLike,
    radius_m: ArrayLike,
    delay_min: ArrayLike,
) -> list[CoverageRecord]:
    """A ``denied`` record per restriction of the mission (kinds in :data:`GAP_KINDS`),
    with the restriction kind as its reason: the disc of at least
    :data:`RESTRICTED_RADIUS_M` around its place (its own uncertainty if larger), from
    its time to the end of its UTC day, or for a delay over ``delay_min`` minutes (an
    hour when not given, NaN). A restriction with no place blocks the whole source."""
    tt = np.asarray(t, np.int64)
    x, y = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    r = np.fmax(np.nan_to_num(np.asarray(radius_m, np.float64)), RESTRICTED_RADIUS_M)
    delay = np.asarray(delay_min, np.float64)
    delay_s = np.where(np.isfinite(delay) & (delay > 0), delay * 60.0, DEFAULT_DELAY_S)
    day_end = (tt // _DAY + 1) * _DAY
    out = []
    for i, k in enumerate(kind):
        if k not in GAP_KINDS:
            continue
        end = int(tt[i] + delay_s[i]) if k == "access_delayed" else int(day_end[i])
        geom = None
        if np.isfinite(x[i]) and np.isfinite(y[i]):
            geom = buffer_metres(shapely.Point(x[i], y[i]), float(r[i]))
        out.append(CoverageRecord(str(source_id[i]), "denied", int(tt[i]), end, geom, str(k)))
    return out


def _visible(active: Sequence[CoverageRecord], plane: dict[int, BaseGeometry]) -> BaseGeometry:
    """Union over sources of what each could see while ``active`` were in force."""
    by_source: dict[str, list[CoverageRecord]] = {}
    for r in active:
        by_source.setdefault(r.source_id, []).append(r)
    parts = []
    for recs in by_source.values():
        seen = [plane[id(r)] for r in recs if r.kind == "observed" and r.geometry is not None]
        if not seen:
            continue
        blocked = [r for r in recs if r.kind != "observed"]
        if any(r.geometry is None for r in blocked):
            continue
        area = shapely.union_all(seen)
        if blocked:
            area = area.difference(shapely.union_all([plane[id(r)] for r in blocked]))
        parts.append(area)
    return shapely.union_all(parts) if parts else shapely.Polygon()


def observed_fraction(
    sectors: Mapping[str, BaseGeometry],
    records: Sequence[CoverageRecord],
    t0: int,
    t1: int,
) -> dict[str, float]:
    """Per sector id, the fraction of its area x ``[t0, t1)`` that some source observed."""
    if t1 <= t0 or not sectors:
        return {k: 0.0 for k in sectors}
    bounds = np.array(shapely.total_bounds(list(sectors.values())))
    lon0, lat0 = float(bounds[[0, 2]].mean()), float(bounds[[1, 3]].mean())
    sec = {k: _to_plane(g, lon0, lat0) for k, g in sectors.items()}
    recs = [r for r in records if r.t_end > t0 and r.t_start < t1 and r.kind in COVERAGE_KINDS]
    plane = {id(r): _to_plane(r.geometry, lon0, lat0) for r in recs if r.geometry is not None}
    cuts = sorted({t0, t1, *(min(max(r.t_start, t0), t1) for r in recs),
                   *(min(max(r.t_end, t0), t1) for r in recs)})  # fmt: skip
    seen = dict.fromkeys(sectors, 0.0)
    area = {k: g.area for k, g in sec.items()}
    cache: dict[frozenset[int], dict[str, float]] = {}
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        active = [r for r in recs if r.t_start <= a and r.t_end >= b]
        key = frozenset(id(r) for r in active)
        if key not in cache:
            vis = _visible(active, plane)
            shapely.prepare(vis)
            cache[key] = {
                k: (g.intersection(vis).area / area[k] if area[k] > 0 else 0.0)
                for k, g in sec.items()
            }
        for k, frac in cache[key].items():
            seen[k] += frac * (b - a)
    return {k: min(v / (t1 - t0), 1.0) for k, v in seen.items()}


def silent_sensors(
    lon: ArrayLike,
    lat: ArrayLike,
    t: ArrayLike,
    obs_labels: ArrayLike,
    obs_sources: Sequence[str] | NDArray[np.object_],
    records: Sequence[CoverageRecord],
    *,
    t_end: ArrayLike | None = None,
    radius_m: ArrayLike | None = None,
    group_of: Mapping[str, str] | None = None,
) -> list[tuple[str, ...]]:
    """Per incident, sources that must have seen it yet did not report it.

    A source must have seen an incident when its declared view held the incident's
    whole uncertainty: every moment of ``[t, t_end]`` and the whole disc of
    ``radius_m`` around the point (checked conservatively in degrees), with no outage
    or denial of that source overlapping the time. A source whose independence
    group (``group_of``) reported the incident is not silent: two cameras of one
    post are one pair of eyes. ``obs_labels``/``obs_sources`` give the incident and
    the source of each member observation; pass only the records of sources that
    would have detected the kind.
    """
    x, y, tt = (np.asarray(a, np.float64) for a in (lon, lat, t))
    n = x.size
    te = tt if t_end is None else np.asarray(t_end, np.float64)
    rr = np.zeros(n) if radius_m is None else np.nan_to_num(np.asarray(radius_m, np.float64))
    # metres per degree along the shorter (longitude) axis: a lower bound of the margin
    m_per_deg = np.minimum(*metres_per_degree(y))
    pts = shapely.points(x, y) if rr.any() else None
    seen: dict[str, NDArray[np.bool_]] = {}
    blocked: dict[str, NDArray[np.bool_]] = {}
    for r in records:
        if r.kind == "observed":
            if r.geometry is None:
                continue
            where = (tt >= r.t_start) & (te < r.t_end) & shapely.contains_xy(r.geometry, x, y)
            if pts is not None and where.any():
                margin = shapely.distance(r.geometry.boundary, pts) * m_per_deg
                where &= margin >= rr
            seen[r.source_id] = seen.get(r.source_id, np.zeros(n, np.bool_)) | where
        else:
            when = (te >= r.t_start) & (tt < r.t_end)
            where = when if r.geometry is None else when & shapely.contains_xy(r.geometry, x, y)
            blocked[r.source_id] = blocked.get(r.source_id, np.zeros(n, np.bool_)) | where
    group = (lambda s: s) if group_of is None else (lambda s: group_of.get(s, s))
    lab = np.asarray(obs_labels, np.int64)
    reported = {(i, group(s)) for i, s in zip(lab.tolist(), list(obs_sources), strict=True)}
    out: list[list[str]] = [[] for _ in range(n)]
    for s in sorted(seen):
        held = seen[s] & ~blocked.get(s, np.zeros(n, np.bool_))
        for i in np.flatnonzero(held).tolist():
            if (i, group(s)) not in reported:
                out[i].append(s)
    return [tuple(v) for v in out]
