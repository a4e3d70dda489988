"""Where fused observations are, and the arrays fusion derives from that (pure core).

:func:`locate` places each new observation: a point report at its own place, a
bearing-only one at its group's fix (``fusion.bearings``). :func:`reach_points`
caps each uncertainty so one vague report cannot chain a region;
:func:`ellipses` gives each incident resting on one triangulated fix alone that
fix's error ellipse; :func:`remap` follows merges. Arrays in, arrays out; no store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from truceline.fusion.bearings import fix_bearings, group_bearings
from truceline.fusion.incremental import Points

__all__ = ["Located", "Projection", "ellipses", "locate", "reach_points", "remap"]

Columns = Mapping[str, NDArray[Any]]


class Projection(Protocol):
    def forward(self, lon: Any, lat: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...


@dataclass(frozen=True, slots=True)
class Located:
    """Where each new observation is: a point, or the fix of its bearing group."""

    x: NDArray[np.float64]  # NaN where it cannot be located
    y: NDArray[np.float64]
    r: NDArray[np.float64]  # 95 % radius (reach in clustering)
    weight_r: NDArray[np.float64]  # radius for weighting: a fix of k bearings counts once
    fix: NDArray[np.int64]  # bearing group of a triangulated fix; -1 for a point or an arc
    ellipse: NDArray[np.float64]  # (n, 3): semi-major, semi-minor, azimuth; NaN if none

    def take(self, keep: NDArray[np.bool_]) -> Located:
        return Located(
            self.x[keep], self.y[keep], self.r[keep], self.weight_r[keep], self.fix[keep],
            self.ellipse[keep],
        )  # fmt: skip


def locate(new: Columns, proj: Projection) -> Located:
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
    return Located(x, y, r, wr, fixid, ell)


def ellipses(label: NDArray[np.int64], n: int, n_old: int, loc: Located) -> list[str | None]:
    """The error ellipse of each incident that rests on one triangulated fix alone (no
    point reports, no earlier members): the fix's 95 % ellipse, as JSON."""
    fg = np.concatenate([np.full(n_old, -2, np.int64), loc.fix])
    lo = np.full(n, np.iinfo(np.int64).max, np.int64)
    hi = np.full(n, np.iinfo(np.int64).min, np.int64)
    np.minimum.at(lo, label, fg)
    np.maximum.at(hi, label, fg)
    first = np.full(n, -1, np.int64)
    first[label[n_old:]] = np.arange(len(loc.fix))  # any row of a fix: they share it
    out: list[str | None] = [None] * n
    for k in np.flatnonzero((lo == hi) & (lo >= 0)).tolist():
        a, b, az = (float(v) for v in loc.ellipse[first[k]])
        out[k] = json.dumps({"semi_major_m": round(a, 1), "semi_minor_m": round(b, 1),
                             "azimuth_deg": round(az, 2), "confidence": 0.95,
                             "method": "triangulated"})  # fmt: skip
    return out


def reach_points(cols: Columns, x: Any, y: Any, r: Any, key: Any, eps: float, win: int) -> Points:
    """Points for ``fusion.incremental``, each uncertainty capped at ``eps`` / ``win``."""
    rr = np.minimum(np.nan_to_num(r, nan=0.0), eps)
    tu = np.minimum(np.nan_to_num(cols["t_unc_s"], nan=0.0), float(win))
    return Points(np.asarray(x, float), np.asarray(y, float), cols["t"], rr, tu, key)


def remap(keys: NDArray[np.int64], merged: dict[int, int]) -> NDArray[np.int64]:
    """Absorbed incident ids replaced by their survivors."""
    if not merged:
        return keys
    src = np.array(sorted(merged), np.int64)
    dst = np.array([merged[int(k)] for k in src], np.int64)
    pos = np.clip(np.searchsorted(src, keys), 0, len(src) - 1)
    return np.where(src[pos] == keys, dst[pos], keys)
