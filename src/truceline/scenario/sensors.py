"""The mission's own eyes and ears: observation-post cameras, acoustic arrays,
monitor patrols and UAV imagery analysis."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from truceline.scenario.coverage import ACOUSTIC_RANGE_M, CAMERA_RANGE_M
from truceline.scenario.events import Fire, Sightings
from truceline.scenario.observe import Block, block, fire_words
from truceline.scenario.roster import Roster, SourceSpec
from truceline.scenario.theatre import Theatre

__all__ = ["observe_acoustic", "observe_cameras", "observe_patrols", "observe_uav"]

_LOUD = np.array(["explosion", "projectile"])


def observe_cameras(
    th: Theatre,
    rng: np.random.Generator,
    ro: Roster,
    f: Fire,
    down: dict[str, list[tuple[int, int]]] | None = None,
) -> list[Block]:
    """Each post sees fire near it (both its cameras usually report it: one group);
    a camera reports nothing while it is ``down`` (source id -> outage windows)."""
    out: list[Block] = []
    small = ~np.isin(f.kind, _LOUD)
    for post in range(0, len(ro.cameras), 2):
        cams = ro.cameras[post : post + 2]
        d = np.hypot(f.x - cams[0].x, f.y - cams[0].y)
        # within the declared field of view a post does not miss an explosion or a launch
        loud_p = np.where(d <= CAMERA_RANGE_M, 0.99, 0.9 * np.exp(-d / 6000.0))
        p = np.where(small, 0.6 * np.exp(-d / 1500.0), loud_p)
        seen = (rng.random(len(f)) < p) & (d < 12_000.0)
        for cam in cams:
            up = np.ones(len(f), dtype=bool)
            for a, b in (down or {}).get(cam.id, []):
                up &= (f.t < a - 120) | (f.t >= b + 120)  # a margin for the clock error
            idx = np.flatnonzero(seen & ((rng.random(len(f)) < 0.9) | ~small) & up)
            sd = 150.0 + 0.08 * d[idx]
            out.append(
                block(
                    th,
                    cam,
                    f.t[idx] + np.round(rng.normal(0, 20, len(idx))).astype(np.int64),
                    t_unc_s=60.0,
                    kind=f.kind[idx],
                    count=f.count[idx],
                    credibility=2,
                    x=f.x[idx] + rng.normal(0, 1, len(idx)) * sd,
                    y=f.y[idx] + rng.normal(0, 1, len(idx)) * sd,
                    radius_m=2.0 * sd,
                    weapon_class=f.weapon_class[idx],
                    description=fire_words(f, idx, "camera recorded"),
                    event=idx,
                )
            )
    return out


def observe_acoustic(th: Theatre, rng: np.random.Generator, ro: Roster, f: Fire) -> list[Block]:
    """Acoustic arrays hear explosions and launches and report a bearing, not a point."""
    out: list[Block] = []
    loud = np.isin(f.kind, _LOUD)
    for arr in ro.acoustic:
        d = np.hypot(f.x - arr.x, f.y - arr.y)
        p = np.where(d <= ACOUSTIC_RANGE_M, 0.99, 0.95 * np.exp(-d / 20e3))
        idx = np.flatnonzero(loud & (d < 20_000.0) & (rng.random(len(f)) < p))
        out.append(
            block(
                th,
                arr,
                f.t[idx] + np.round(rng.normal(0, 3, len(idx))).astype(np.int64),
                t_unc_s=10.0,
                kind=f.kind[idx],
                count=f.count[idx],
                credibility=3,
                bearing_to=(f.x[idx], f.y[idx]),
                bearing_sd=3.0,
                rng=rng,
                range_m=(np.full(len(idx), 500.0), np.full(len(idx), 20_000.0)),
                description=fire_words(f, idx, "acoustic detection of"),
                event=idx,
            )
        )
    return out


def _patrol_positions(
    th: Theatre, rng: np.random.Generator, hot: NDArray[np.float64], n_patrols: int, days: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Where each patrol stands each day (metres) and the line sector it is in."""
    n = len(th.sectors)
    x = np.empty((n_patrols, days))
    y = np.empty((n_patrols, days))
    sec = np.empty((n_patrols, days), dtype=np.int64)
    for k in range(n_patrols):
        mine = [s for s in range(n) if s // 2 == k] or [k % n]
        s_day = np.asarray(mine)[rng.integers(0, len(mine), days)]
        off = rng.uniform(3000.0, 7000.0, days) * np.where(rng.random(days) < 0.5, 1.0, -1.0)
        along = hot[s_day, rng.integers(0, 2, days)] + rng.normal(0.0, 3000.0, days)
        for s in np.unique(s_day):
            m = s_day == s
            x[k, m], y[k, m] = th.near_line(rng, int(s), off[m], along[m])
        sec[k] = s_day
    return x, y, sec


def observe_patrols(
    th: Theatre,
    rng: np.random.Generator,
    ro: Roster,
    f: Fire,
    w: Sightings,
    t0: int,
    days: int,
) -> list[Block]:
    """Patrols are out 06:00-14:00 UTC: they hear fire (bearing and a range), see
    weapons in the sector they visit, and are sometimes stopped."""
    out: list[Block] = []
    px, py, psec = _patrol_positions(th, rng, ro.hotspots, len(ro.patrols), days)
    day = np.clip((f.t - t0) // 86400, 0, days - 1)
    hour = (f.t - t0) % 86400 // 3600
    wday = np.clip((w.t - t0) // 86400, 0, days - 1)
    for k, pat in enumerate(ro.patrols):
        ox, oy = px[k, day], py[k, day]
        d = np.hypot(f.x - ox, f.y - oy)
        out_now = (hour >= 6) & (hour < 14)
        idx = np.flatnonzero(
            out_now & (d < 10_000.0) & (rng.random(len(f)) < 0.8 * np.exp(-d / 6e3))
        )
        out.append(
            block(
                th,
                pat,
                f.t[idx] + np.round(rng.normal(0, 60, len(idx))).astype(np.int64),
                t_unc_s=300.0,
                kind=f.kind[idx],
                count=f.count[idx],
                credibility=3,
                bearing_to=(f.x[idx], f.y[idx]),
                bearing_sd=15.0,
                rng=rng,
                obs_at=(ox[idx], oy[idx]),
                range_m=(d[idx] * 0.6, d[idx] * 1.5 + 500.0),
                weapon_class=f.weapon_class[idx],
                description=fire_words(f, idx, "patrol heard"),
                event=idx,
            )
        )
        out.append(_patrol_sightings(th, rng, pat, w, wday, psec[k]))
        out.append(_restrictions(th, rng, pat, px[k], py[k], t0, days))
    return out


def _patrol_sightings(
    th: Theatre,
    rng: np.random.Generator,
    pat: SourceSpec,
    w: Sightings,
    wday: NDArray[np.int64],
    psec: NDArray[np.int64],
) -> Block:
    near = _sector_of(th, w.x, w.y)
    here = near == psec[wday]
    idx = np.flatnonzero(here & (rng.random(len(w)) < 0.6))
    return _sighting_block(th, rng, pat, w, idx, radius=150.0, how="patrol saw")


def _sector_of(th: Theatre, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
    """The line sector nearest each point."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)
    pts = shapely.points(x, y)
    geoms = np.array([g for _, g in th.sectors], dtype=object)
    d = shapely.distance(pts[:, None], geoms[None, :])
    return np.asarray(np.argmin(d, axis=1), dtype=np.int64)


def _sighting_block(
    th: Theatre,
    rng: np.random.Generator,
    src: SourceSpec,
    w: Sightings,
    idx: NDArray[np.int64],
    radius: float,
    how: str,
) -> Block:
    n = len(idx)
    return block(
        th,
        src,
        w.t[idx] + rng.integers(-1800, 1800, n),
        t_unc_s=1800.0,
        kind=np.full(n, "weapon_sighting"),
        count=w.count[idx],
        credibility=2,
        x=w.x[idx] + rng.normal(0, radius / 3, n),
        y=w.y[idx] + rng.normal(0, radius / 3, n),
        radius_m=np.full(n, radius),
        weapon_class=w.weapon_class[idx],
        description=[
            f"{how} {int(w.count[i])} x {w.weapon_class[i].replace('_', ' ')}" for i in idx
        ],
        event=-1 - idx,  # sightings are numbered apart from fire events: -1, -2, ...
    )


def _restrictions(
    th: Theatre,
    rng: np.random.Generator,
    pat: SourceSpec,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    t0: int,
    days: int,
) -> Block:
    """Now and then a patrol is stopped at a checkpoint of the side it is on."""
    d = np.flatnonzero(rng.random(days) < 0.12)
    side = th.side_of(x[d], y[d])
    actor = [th.parties[s] if s >= 0 else None for s in side]
    return block(
        th,
        pat,
        t0 + d * 86400 + rng.integers(7 * 3600, 13 * 3600, len(d)),
        t_unc_s=300.0,
        kind=np.full(len(d), "restriction"),
        count=np.ones(len(d), dtype=np.int64),
        credibility=1,
        x=x[d],
        y=y[d],
        radius_m=np.full(len(d), 100.0),
        actor=actor,
        description=["patrol denied passage at a checkpoint"] * len(d),
    )


def observe_uav(th: Theatre, rng: np.random.Generator, ro: Roster, w: Sightings) -> list[Block]:
    """UAV imagery analysis finds weapons (the long-range UAV half of them)."""
    mini, long_ = ro.uavs
    idx_long = np.flatnonzero(rng.random(len(w)) < 0.5)
    idx_mini = np.flatnonzero(rng.random(len(w)) < 0.25)
    return [
        _sighting_block(th, rng, long_, w, idx_long, radius=50.0, how="imagery shows"),
        _sighting_block(th, rng, mini, w, idx_mini, radius=50.0, how="imagery shows"),
    ]
