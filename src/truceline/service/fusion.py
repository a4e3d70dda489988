"""Fusing new observations into incidents, incrementally, in one transaction.

``fuse(ws)`` reads the observations not yet in an incident, locates bearing-only
ones (``fusion.bearings``), loads only the fused observations within reach of the
new ones and lets ``fusion.incremental`` decide joins, new incidents and merges
(the oldest incident survives; the absorbed one records ``merged_into``). It then
recomputes each touched incident (``fusion.attributes``), scores it by
independent source groups (``fusion.grading``), classifies its sector against the
agreement in force, and stores everything with its ledger entries and
``status_changes`` rows (actor ``fusion``) in the same transaction. Attribution
and silent-sensor disputes run in that transaction too; the side of the line of the
touched incidents is recomputed right after it commits (derived, not ledgered).

Two observations may be one incident when their distance is at most
``distance_m`` plus both location uncertainties and their times differ by at most
``window_s`` plus both time uncertainties; each uncertainty is capped at
``distance_m`` / ``window_s`` so that one vague report cannot chain a region.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, func, select

from truceline.fusion.attributes import fuse_attributes
from truceline.fusion.bearings import fix_bearings, group_bearings
from truceline.fusion.grading import score_incidents
from truceline.fusion.incremental import Points, increment
from truceline.geo.zones import ZoneIndex
from truceline.service import fusion_store as fs
from truceline.service.agreements import agreement_in_force
from truceline.service.fusion_write import store_increment
from truceline.service.incidents import update_sides
from truceline.service.verification import attribute_incidents, dispute_silent
from truceline.service.workspace import Workspace
from truceline.store import ledger as log
from truceline.store.db import writing
from truceline.store.schema import incidents

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


@dataclass(frozen=True, slots=True)
class _Located:
    """Where each new observation is: a point, or the fix of its bearing group."""

    x: NDArray[np.float64]  # NaN where it cannot be located
    y: NDArray[np.float64]
    r: NDArray[np.float64]  # 95 % radius (reach in clustering)
    weight_r: NDArray[np.float64]  # radius for weighting: a fix of k bearings counts once
    fix: NDArray[np.int64]  # bearing group of a triangulated fix; -1 for a point or an arc
    ellipse: NDArray[np.float64]  # (n, 3): semi-major, semi-minor, azimuth; NaN if none

    def take(self, keep: NDArray[np.bool_]) -> _Located:
        return _Located(
            self.x[keep], self.y[keep], self.r[keep], self.weight_r[keep], self.fix[keep],
            self.ellipse[keep],
        )  # fmt: skip


def _locate(new: fs.Columns, proj: Any) -> _Located:
    """Each new observation's place; bearing-only ones from their group's fix."""
    x, y = proj.forward(new["lon"], new["lat"])
    x, y, r = np.array(x, float), np.array(y, float), new["radius_m"].copy()
    wr, fixid = r.copy(), np.full(len(x), -1, np.int64)
    ell = np.full((len(x), 3), np.nan)
    bear = ~np.isfinite(x) & np.isfinite(new["bearing_deg"]) & np.isfinite(new["obs_lon"])
    if bear.any():
        ox, oy = proj.forward(new["obs_lon"][bear], new["obs_lat"][bear])
        t, az = new["t"][bear], new["bearing_deg"][bear]
        rmin, rmax = new["range_min_m"][bear], new["range_max_m"][bear]
        groups = group_bearings(t, ox, oy, az, rmin, rmax)
        fix = fix_bearings(t, ox, oy, az, new["bearing_sd_deg"][bear], rmin, rmax, groups)
        ok = np.asarray(fix.ok, bool)
        idx = np.flatnonzero(bear)[ok]
        x[idx], y[idx], r[idx] = fix.x[ok], fix.y[ok], fix.radius_m[ok]
        # the k rows of one fix share one measurement: together they weigh as one
        wr[idx] = fix.radius_m[ok] * np.sqrt(np.maximum(fix.n_bearings[ok], 1))
        tri = np.asarray(fix.method[ok] == "triangulated")
        fixid[idx[tri]] = np.asarray(groups, np.int64)[ok][tri]
        ell[idx] = np.column_stack([fix.semi_major_m[ok], fix.semi_minor_m[ok],
                                    fix.azimuth_deg[ok]])  # fmt: skip
    return _Located(x, y, r, wr, fixid, ell)


def _ellipses(label: NDArray[np.int64], n: int, n_old: int, loc: _Located) -> list[str | None]:
    """The error ellipse of each incident that rests on one triangulated fix alone (no
    point reports, no earlier members): the fix's 95 % ellipse, as JSON."""
    fg = np.concatenate([np.full(n_old, -2, np.int64), loc.fix])
    lo = np.full(n, np.iinfo(np.int64).max, np.int64)
    hi = np.full(n, np.iinfo(np.int64).min, np.int64)
    np.minimum.at(lo, label, fg)
    np.maximum.at(hi, label, fg)
    first = np.full(n, -1, np.int64)
    first[label[n_old:]] = np.arange(len(loc.fix))  # any row of a fix: they share it
    out: list[str | None] = []
    for k in range(n):
        if lo[k] != hi[k] or lo[k] < 0:
            out.append(None)
            continue
        a, b, az = (float(v) for v in loc.ellipse[first[k]])
        out.append(json.dumps({"semi_major_m": round(a, 1), "semi_minor_m": round(b, 1),
                               "azimuth_deg": round(az, 2), "confidence": 0.95,
                               "method": "triangulated"}))  # fmt: skip
    return out


def _points(cols: fs.Columns, x: Any, y: Any, r: Any, key: Any, eps: float, win: int) -> Points:
    rr = np.minimum(np.nan_to_num(r, nan=0.0), eps)
    tu = np.minimum(np.nan_to_num(cols["t_unc_s"], nan=0.0), float(win))
    return Points(np.asarray(x, float), np.asarray(y, float), cols["t"], rr, tu, key)


def fuse(
    ws: Workspace,
    *,
    distance_m: float | None = None,
    window_s: int | None = None,
    progress: Progress | None = None,
) -> FuseResult:
    """Fuse every observation not yet in an incident; see the module docstring."""
    say = progress or (lambda _msg: None)
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
        proj = fs.projector_for(conn, lon, lat)
        say("locating bearings")
        loc = _locate(new, proj)
        located = np.isfinite(loc.x) & np.isfinite(loc.y)
        unlocated = int((~located).sum())
        if not located.any():
            return FuseResult(0, 0, 0, 0, unlocated, _by_status(conn), eps, win)
        new = {k: v[located] for k, v in new.items()}
        loc = loc.take(located)
        x, y, r = loc.x, loc.y, loc.r
        pts = _points(new, x, y, r, new["id"], eps, win)
        say("loading incidents within reach")
        nlon, nlat = proj.inverse(x, y)
        # a new point reaches an old one at eps + its own + the old one's (capped) radius
        old = fs.fused_near(conn, new["t"], nlon, nlat, pts.tu + 2 * win, pts.r + 2 * eps)
        ox, oy = proj.forward(old["lon"], old["lat"])
        old_pts = _points(old, ox, oy, old["radius_m"], old["incident_id"], eps, win)
        say("clustering")
        inc = increment(old_pts, pts, eps=eps, window=win)
        say("writing incidents")
        new_ids = _write(conn, new, loc, inc, proj, agreement)
        touched = sorted(set(new_ids) | (set(inc.touched) - set(inc.merged)))
        say("attribution and contradictions")
        _verify(conn, touched)
        result = FuseResult(
            new=len(new_ids),
            updated=len(set(inc.touched) - set(inc.merged)),
            merged=len(inc.merged),
            observations_fused=len(new["id"]),
            unlocated=unlocated,
            by_status=_by_status(conn),
            distance_m=eps,
            window_s=win,
        )
    say("side of the line")
    update_sides(ws, ids=touched)
    return result


def _verify(conn: Connection, ids: list[int]) -> None:
    """Attribution and silent-sensor disputes of the touched incidents, in this transaction."""
    attribute_incidents(conn, ids)
    dispute_silent(conn, ids)


def _by_status(conn: Connection) -> dict[str, int]:
    q = (
        select(incidents.c.status, func.count())
        .where(incidents.c.merged_into.is_(None))
        .group_by(incidents.c.status)
    )
    return {str(s): int(n) for s, n in conn.execute(q)}


def _write(
    conn: Connection, new: fs.Columns, loc: _Located, inc: Any, proj: Any, agreement: Any
) -> list[int]:
    """Store the increment: new incidents, updated and merged ones, memberships."""
    x, y, r = loc.x, loc.y, loc.weight_r
    now = int(time.time())
    survivors = list(inc.touched)
    old = fs.members_of(conn, survivors + sorted(inc.merged)) if survivors else None
    keys_new = inc.incident
    if old is not None and len(old["id"]):
        okey = _remap(old["incident_id"], inc.merged)
        mx, my = proj.forward(old["lon"], old["lat"])
        cols = {k: np.concatenate([old[k], new[k]]) for k in fs.MEMBER_COLS}
        mx, my = np.concatenate([mx, x]), np.concatenate([my, y])
        mr = np.concatenate([old["radius_m"], r])
        key = np.concatenate([okey, keys_new])
    else:
        cols, mx, my, mr, key = new, x, y, r, keys_new
    n_old = len(key) - len(keys_new)
    ukeys, label = np.unique(key, return_inverse=True)
    n = len(ukeys)
    fused = fuse_attributes(
        label, n, mx, my, mr, cols["t"], cols["t_unc_s"], cols["kind"],
        cols["weapon_class"], cols["count"],
    )  # fmt: skip
    status, conf, ngroups = _score(conn, label, n, cols)
    lon, lat = proj.inverse(fused.x, fused.y)
    sector = _sectors(agreement, lon, lat)
    ellipse = _ellipses(label, n, n_old, loc)
    rows = [
        {
            "t": int(fused.t[k]), "t_start": int(fused.t_start[k]), "t_end": int(fused.t_end[k]),
            "lon": float(lon[k]), "lat": float(lat[k]), "radius_m": float(fused.radius_m[k]),
            "kind": str(fused.kind[k]), "weapon_class": fused.weapon_class[k],
            "count": int(fused.count[k]), "n_observations": int(fused.n_observations[k]),
            "n_groups": int(ngroups[k]), "confidence": float(conf[k]), "sector": sector[k],
            "ellipse": ellipse[k], "updated_at": now,
        }
        for k in range(n)
    ]  # fmt: skip
    o = np.argsort(label, kind="stable")
    parts = np.split(cols["id"][o], np.flatnonzero(np.diff(label[o])) + 1)
    members = {int(k): p.tolist() for k, p in zip(ukeys, parts, strict=True)}
    fresh = np.flatnonzero(ukeys < 0)[::-1].tolist()  # -1, -2, ...: oldest first
    return store_increment(
        conn, now, ukeys, rows, status, fresh, members, inc.merged, new["id"], keys_new
    )


def _score(
    conn: Connection, label: NDArray[np.int64], n: int, cols: fs.Columns
) -> tuple[list[str], NDArray[np.float64], NDArray[np.int64]]:
    gcode, rel = fs.source_info(conn, cols["source_id"], cols["t"])
    s = score_incidents(label, gcode, rel, cols["credibility"], cols["kind"], n_incidents=n)
    return [str(v) for v in s.status], np.asarray(s.confidence), np.asarray(s.n_groups)


def _sectors(agreement: Any, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> list[Any]:
    if agreement is None or len(lon) == 0:
        return [None] * len(lon)
    index = ZoneIndex.from_agreement(agreement)
    c = index.classify(lon, lat)
    ids = list(index.sector_ids)
    return [ids[int(s)] if s >= 0 else None for s in c.sector]


def _remap(keys: NDArray[np.int64], merged: dict[int, int]) -> NDArray[np.int64]:
    """Absorbed incident ids replaced by their survivors."""
    if not merged:
        return keys
    src = np.array(sorted(merged), np.int64)
    dst = np.array([merged[int(k)] for k in src], np.int64)
    pos = np.clip(np.searchsorted(src, keys), 0, len(src) - 1)
    return np.where(src[pos] == keys, dst[pos], keys)
