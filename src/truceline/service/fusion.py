"""Fusing new observations into incidents, incrementally, in one transaction.

``fuse(ws)`` reads the observations not yet in an incident, locates bearing-only
ones (``fusion.bearings``), loads only the fused observations within reach of the
new ones and lets ``fusion.incremental`` decide joins, new incidents and merges
(the oldest incident survives; the absorbed one records ``merged_into``). It then
recomputes each touched incident (``fusion.attributes``), scores it by
independent source groups (``fusion.grading``), classifies its sector against the
agreement in force, and stores everything with its ledger entries and
``status_changes`` rows (actor ``fusion``) in the same transaction. Attribution
and silent-sensor disputes run in that transaction too. The incidents it moves lose
their side of the line in it; right after it commits, every incident without a side
gets one (its own ledger entry), so a fuse killed between the two leaves no stale side
and the next fuse fills what is missing.

Two observations may be one incident when their distance is at most
``distance_m`` plus both location uncertainties and their times differ by at most
``window_s`` plus both time uncertainties; each uncertainty is capped at
``distance_m`` / ``window_s`` so that one vague report cannot chain a region.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.fusion.attributes import factorize, fuse_attributes
from truceline.fusion.grading import score_incidents
from truceline.fusion.incremental import Increment, increment
from truceline.fusion.locate import Located, ellipses, locate, reach_points, remap
from truceline.geo.geodesy import aeqd_error_bound, degree_box, distance_m
from truceline.geo.projection import Projector
from truceline.geo.zones import ZoneIndex
from truceline.service.agreements import agreement_in_force
from truceline.service.fusion_write import SIDE, FusedIncidents, ledger_sides, store_increment
from truceline.service.incidents import control_versions, side_texts, update_sides
from truceline.service.sources import reliability_at
from truceline.service.verification import attribute_incidents, dispute_silent
from truceline.service.workspace import Workspace
from truceline.store import fusion as fs
from truceline.store import incidents as store_incidents
from truceline.store import ledger as log
from truceline.store.db import Connection, writing

__all__ = ["FuseResult", "fuse"]

Progress = Callable[[str], None]
ACTOR = "fusion"


@dataclass(frozen=True, slots=True)
class FuseResult:
    new: int
    updated: int
    merged: int
    observations_fused: int
    unlocated: int = 0  # bearing-only observations that could not be located (left unfused)
    by_status: dict[str, int] = field(default_factory=dict)
    distance_m: float = 0.0
    window_s: int = 0


def _params(ws: Workspace, conn: Connection, t_max: int, d: float | None, w: int | None) -> Any:
    distance, window = ws.settings.fusion_distance_m, ws.settings.fusion_window_s
    agreement = agreement_in_force(conn, t_max)
    if agreement is not None:
        distance = float(agreement.fusion.get("distance_m", distance))
        window = int(agreement.fusion.get("window_s", window))
    return (distance if d is None else float(d)), (window if w is None else int(w)), agreement


def fuse(
    ws: Workspace,
    *,
    distance_m: float | None = None,
    window_s: int | None = None,
    progress: Progress | None = None,
) -> FuseResult:
    """Fuse every observation not yet in an incident; see the module docstring."""
    say = progress or (lambda _msg: None)
    result = _fuse(ws, distance_m, window_s, say)
    update_sides(ws)  # any incident left without a side by earlier work
    return result


def _fuse(
    ws: Workspace, distance_m: float | None, window_s: int | None, say: Progress
) -> FuseResult:
    """The fusion transaction."""
    with writing(ws.engine, "fusing observations") as conn:
        log.lock(conn)  # statuses and memberships as the last writer left them (PostgreSQL)
        say("reading new observations")
        new = fs.unfused(conn)
        if len(new["id"]) == 0:
            eps, win, _ = _params(ws, conn, int(time.time()), distance_m, window_s)
            return FuseResult(0, 0, 0, 0, 0, _by_status(conn), eps, win)
        eps, win, agreement = _params(ws, conn, int(new["t"].max()), distance_m, window_s)
        lon = np.where(np.isfinite(new["lon"]), new["lon"], new["obs_lon"])
        lat = np.where(np.isfinite(new["lat"]), new["lat"], new["obs_lat"])
        proj = _projector(conn, lon, lat)
        say("locating bearings")
        loc = locate(new, proj)
        located = np.isfinite(loc.x) & np.isfinite(loc.y)
        unlocated = int((~located).sum())
        if not located.any():
            return FuseResult(0, 0, 0, 0, unlocated, _by_status(conn), eps, win)
        if unlocated:
            new = {k: v[located] for k, v in new.items()}
            loc = loc.take(located)
        say("loading incidents within reach")
        inc = _increment(conn, new, loc, proj, eps, win, say)
        say("writing incidents")
        new_ids, sides = _write(conn, new, loc, inc, proj, agreement, (eps, win), say)
        touched = sorted(set(new_ids) | (set(inc.touched) - set(inc.merged)))
        say("attribution and contradictions")
        _verify(conn, touched)
        sides()  # the sides' entries last, as when they were computed after the others
        return FuseResult(
            new=len(new_ids),
            updated=len(set(inc.touched) - set(inc.merged)),
            merged=len(inc.merged),
            observations_fused=len(new["id"]),
            unlocated=unlocated,
            by_status=_by_status(conn),
            distance_m=eps,
            window_s=win,
        )


def _increment(
    conn: Connection,
    new: fs.Columns,
    loc: Located,
    proj: Projector,
    eps: float,
    win: int,
    say: Progress,
) -> Increment:
    """Cluster the new observations with the fused ones within their reach. Pairs near
    their threshold are settled by geodesic distance, so the partition does not depend
    on the projection, fixed by whichever batch came first."""
    pts = reach_points(new, loc.x, loc.y, loc.r, new["id"], eps, win)
    nlon, nlat = new["lon"].copy(), new["lat"].copy()
    fixed = ~(np.isfinite(nlon) & np.isfinite(nlat))  # placed by their bearings' fix
    if fixed.any():
        nlon[fixed], nlat[fixed] = proj.inverse(loc.x[fixed], loc.y[fixed])
    # a new point reaches an old one at eps + its own + the old one's (capped) radius
    # 10 % spare: projected distances stretch (< 1 % within 1,500 km of the centre)
    dlon, dlat = degree_box(1.1 * (pts.r + 2 * eps), nlat)
    old = fs.fused_near(conn, new["t"], nlon, nlat, pts.tu + 2 * win, dlon, dlat)
    ox, oy = proj.forward(old["lon"], old["lat"])
    old_pts = reach_points(old, ox, oy, old["radius_m"], old["incident_id"], eps, win)
    lon, lat = np.concatenate([old["lon"], nlon]), np.concatenate([old["lat"], nlat])
    longest = eps + 2.0 * float(max(pts.r.max(initial=0.0), old_pts.r.max(initial=0.0)))
    margin = aeqd_error_bound(longest, lon, lat, proj.lon0, proj.lat0)

    def geodesic(a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.float64]:
        return distance_m(lon[a], lat[a], lon[b], lat[b])

    say("clustering")
    return increment(old_pts, pts, eps=eps, window=win, distance=geodesic, margin=margin)


def _verify(conn: Connection, ids: list[int]) -> None:
    """Attribution and silent-sensor disputes of the touched incidents, in this transaction."""
    attribute_incidents(conn, ids)
    dispute_silent(conn, ids)


def _by_status(conn: Connection) -> dict[str, int]:
    return store_incidents.count_by_status(conn)


def _projector(conn: Connection, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Projector:
    """The workspace's fusion projection: fixed at the first fusion (centre of that batch,
    rounded to whole degrees) and kept, so distances never change between runs."""
    centre = fs.projection_centre(conn)
    if centre is None:
        ok = np.isfinite(lon) & np.isfinite(lat)
        lat0 = float(np.round((lat[ok].min() + lat[ok].max()) / 2)) if ok.any() else 0.0
        lon0 = float(np.round((lon[ok].min() + lon[ok].max()) / 2)) if ok.any() else 0.0
        fs.save_projection_centre(conn, lat0, lon0)
        centre = (lat0, lon0)
    return Projector(*centre)


def _source_info(
    conn: Connection, source_id: NDArray[Any], t: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
    """Per observation: its source's independence-group code and the reliability grade in
    force at the observation's time (``service.sources.reliability_at``: F before any)."""
    srcs = fs.source_groups(conn)
    groups = {g: k for k, g in enumerate(sorted(set(srcs.values())))}
    # per distinct source (a few), not per observation (up to millions)
    names, inv = factorize(source_id)
    code = np.array([groups.get(srcs.get(str(s), str(s)), -1) for s in names], np.int64)
    unknown = np.flatnonzero(code < 0)  # a source not registered is its own group
    code[unknown] = len(groups) + np.arange(unknown.size)
    return code[inv], reliability_at(conn, source_id, t)


def _write(
    conn: Connection,
    new: fs.Columns,
    loc: Located,
    inc: Increment,
    proj: Projector,
    agreement: Any,
    reach: tuple[float, int],
    say: Progress,
) -> tuple[list[int], Callable[[], None]]:
    """Store the increment: new incidents, updated and merged ones (each with its side
    of the line), memberships; each incident's ledger record names the ``reach``
    (distance_m, window_s) it was fused with. Returns the new incidents' ids and what
    ledgers the sides."""
    x, y, r = loc.x, loc.y, loc.weight_r
    now = int(time.time())
    survivors = list(inc.touched)
    old = fs.members_of(conn, survivors + sorted(inc.merged)) if survivors else None
    keys_new = inc.incident
    if old is not None and len(old["id"]):
        okey = remap(old["incident_id"], inc.merged)
        mx, my = proj.forward(old["lon"], old["lat"])
        cols = {k: np.concatenate([old[k], new[k]]) for k in fs.MEMBER_COLS}
        mx, my = np.concatenate([mx, x]), np.concatenate([my, y])
        mr = np.concatenate([old["radius_m"], r])
        key = np.concatenate([okey, keys_new])
    else:
        cols, mx, my, mr, key = new, x, y, r, keys_new
    n_old = len(key) - len(keys_new)
    ukeys, label = np.unique(key, return_inverse=True)
    label = label.ravel()
    n = len(ukeys)
    fused = fuse_attributes(
        label, n, mx, my, mr, cols["t"], cols["t_unc_s"], cols["kind"],
        cols["weapon_class"], cols["count"],
    )  # fmt: skip
    status, conf, ngroups = _score(conn, label, n, cols)
    lon, lat = proj.inverse(fused.x, fused.y)
    columns: dict[str, NDArray[Any]] = {
        "t": fused.t, "t_start": fused.t_start, "t_end": fused.t_end, "lon": lon, "lat": lat,
        "radius_m": fused.radius_m, "kind": fused.kind, "weapon_class": fused.weapon_class,
        "count": fused.count, "n_observations": fused.n_observations, "n_groups": ngroups,
        "confidence": conf, "sector": _sectors(agreement, lon, lat),
        "ellipse": np.array(ellipses(label, n, n_old, loc), dtype=object),
    }  # fmt: skip
    say("side of the line")
    sides = side_texts(control_versions(conn), fused.t, lon, lat, fused.radius_m,
                       columns["ellipse"])  # fmt: skip
    columns[SIDE] = sides.to_numpy(zero_copy_only=False)
    fusion = {"distance_m": float(reach[0]), "window_s": int(reach[1])}
    batch = FusedIncidents(
        ukeys, columns, status, *members(label, n, cols["id"]), inc.merged, new["id"], keys_new,
        fusion,
    )  # fmt: skip
    new_ids, ids = store_increment(conn, now, batch)
    return new_ids, lambda: ledger_sides(conn, batch, ids, now)


def members(
    label: NDArray[np.int64], n: int, ids: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The member ids of incidents ``0..n-1``, incident by incident, ascending, and where
    each incident's members end."""
    o = np.lexsort((ids, label))
    return ids[o], np.cumsum(np.bincount(label, minlength=n)).astype(np.int64)


def _score(
    conn: Connection, label: NDArray[np.int64], n: int, cols: fs.Columns
) -> tuple[list[str], NDArray[np.float64], NDArray[np.int64]]:
    gcode, rel = _source_info(conn, cols["source_id"], cols["t"])
    s = score_incidents(label, gcode, rel, cols["credibility"], cols["kind"], n_incidents=n)
    return s.status.astype(str).tolist(), np.asarray(s.confidence), np.asarray(s.n_groups)


def _sectors(agreement: Any, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[Any]:
    if agreement is None or len(lon) == 0:
        return np.full(len(lon), None, dtype=object)
    index = ZoneIndex.from_agreement(agreement)
    c = index.classify(lon, lat)
    ids = np.array([*index.sector_ids, None], dtype=object)
    return ids[np.where(c.sector >= 0, c.sector, len(ids) - 1)]
