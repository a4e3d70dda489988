"""Locating events from bearings: triangulation, single bearing with a range, rejection.

Inputs are metric coordinates (metres, e.g. from ``geo.projection.Projector``) and
azimuths in degrees clockwise from north, one row per bearing observation.
Bearings that share a ``group`` value (>= 0) are taken as one event:

* two or more bearings from different observers are triangulated by iteratively
  re-weighted least squares on the lines ``n_i . X = n_i . p_i`` (``n_i`` the unit
  normal of bearing ``i``), weight ``1 / (r_i sigma_i)^2`` with ``r_i`` the distance
  from observer ``i`` to the estimate. The covariance ``(sum w n n^T)^-1`` gives a
  95 % error ellipse (chi-square, 2 degrees of freedom);
* a group is rejected (``ok=False`` with a reason, never a wild point) when its
  bearings are nearly parallel, meet behind an observer, meet farther than
  ``max_range_m``, disagree beyond the 99.9 % chi-square of their residuals, or
  place the event outside a range an observer gave;
* a bearing alone (or a group from one observer) with a distance range is located
  on its arc: the centre of the annular sector (azimuth +- 1.96 sd, the range) and
  a radius covering the whole sector; without a range it cannot be located.

Everything is vectorised over groups (``np.add.reduceat`` on rows sorted by group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CHI2_95_2D",
    "DEFAULT_SD_DEG",
    "BearingFixes",
    "fix_bearings",
    "group_bearings",
]

F64 = NDArray[np.float64]
# scipy.stats.chi2.ppf(0.95, 2) and scipy.stats.norm.ppf(0.975), written out so that
# importing this module does not import scipy.stats (slow); a test checks them
CHI2_95_2D = 5.991464547107979
Z95 = 1.959963984540054
#: standard deviation assumed for a bearing that does not state its own (degrees)
DEFAULT_SD_DEG = 2.0


@dataclass(frozen=True, slots=True)
class BearingFixes:
    """One row per input bearing (rows of one group share the group's fix)."""

    t: F64  # mean time of the group (s)
    x: F64  # NaN where not ok
    y: F64
    radius_m: F64  # a circle holding the 95 % region (semi-major axis, or the arc's cover)
    semi_major_m: F64  # 95 % ellipse; NaN for an arc
    semi_minor_m: F64
    azimuth_deg: F64  # of the major axis, clockwise from north
    cov_xx: F64
    cov_xy: F64
    cov_yy: F64
    n_bearings: NDArray[np.int64]  # bearings used in the fix
    method: NDArray[np.str_]  # "triangulated" | "arc" | ""
    ok: NDArray[np.bool_]
    reason: NDArray[np.str_]  # "" when ok

    def contains(self, x: ArrayLike, y: ArrayLike) -> NDArray[np.bool_]:
        """Whether each point lies in its row's 95 % ellipse (triangulated rows only)."""
        dx = np.asarray(x, np.float64) - self.x
        dy = np.asarray(y, np.float64) - self.y
        det = self.cov_xx * self.cov_yy - self.cov_xy**2
        with np.errstate(invalid="ignore", divide="ignore"):
            m2 = (self.cov_yy * dx * dx - 2 * self.cov_xy * dx * dy + self.cov_xx * dy * dy) / det
        return np.asarray(m2 <= CHI2_95_2D, dtype=np.bool_)


def _f(a: ArrayLike | None, n: int, fill: float = np.nan) -> F64:
    if a is None:
        return np.full(n, fill)
    out = np.asarray(a, dtype=np.float64)
    return np.broadcast_to(out, (n,)).copy() if out.ndim == 0 else out


def fix_bearings(
    t: ArrayLike,
    obs_x: ArrayLike,
    obs_y: ArrayLike,
    az_deg: ArrayLike,
    sd_deg: ArrayLike,
    range_min_m: ArrayLike | None = None,
    range_max_m: ArrayLike | None = None,
    group: ArrayLike | None = None,
    *,
    min_angle_deg: float = 3.0,
    max_range_m: float = 60_000.0,
    iterations: int = 6,
) -> BearingFixes:
    """Locate each group of bearings; see the module docstring. ``group`` None: each alone."""
    tt = np.asarray(t, dtype=np.float64)
    n = tt.shape[0]
    ox, oy, az = _f(obs_x, n), _f(obs_y, n), _f(az_deg, n)
    sd = _f(sd_deg, n, DEFAULT_SD_DEG)
    sd = np.maximum(np.where(np.isfinite(sd), sd, DEFAULT_SD_DEG), 0.05)
    rmin, rmax = _f(range_min_m, n), _f(range_max_m, n)
    g = np.arange(n) if group is None else np.asarray(group, dtype=np.int64).copy()
    alone = g < 0
    g[alone] = g.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    out = _empty(n)
    if n == 0:
        return out
    bad = ~(np.isfinite(ox) & np.isfinite(oy) & np.isfinite(az))
    out.reason[bad] = "observer position or azimuth missing"
    idx = np.flatnonzero(~bad)
    if idx.size == 0:
        return out
    order = idx[np.lexsort((idx, g[idx]))]
    gs = g[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    size = np.diff(np.r_[starts, gs.size])
    gmean_t = np.add.reduceat(tt[order], starts) / size
    out.t[order] = np.repeat(gmean_t, size)
    # a group triangulates when it has two observers at least 1 m apart
    spread = np.maximum.reduceat(ox[order], starts) - np.minimum.reduceat(ox[order], starts)
    spread = np.hypot(
        spread, np.maximum.reduceat(oy[order], starts) - np.minimum.reduceat(oy[order], starts)
    )
    multi = (size >= 2) & (spread >= 1.0)
    row_multi = np.repeat(multi, size)
    tri_rows = order[row_multi]
    if tri_rows.size:
        _triangulate(
            out, tri_rows, starts_of(gs[row_multi]), ox, oy, az, sd, rmin, rmax,
            min_angle_deg, max_range_m, iterations,
        )  # fmt: skip
    single = order[~row_multi]
    if single.size:
        _arcs(out, single, ox, oy, az, sd, rmin, rmax)
    return out


def starts_of(sorted_groups: NDArray[np.int64]) -> NDArray[np.intp]:
    return np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])


def _empty(n: int) -> BearingFixes:
    def nan() -> F64:
        return np.full(n, np.nan)

    return BearingFixes(
        t=nan(), x=nan(), y=nan(), radius_m=nan(), semi_major_m=nan(), semi_minor_m=nan(),
        azimuth_deg=nan(), cov_xx=nan(), cov_xy=nan(), cov_yy=nan(),
        n_bearings=np.zeros(n, np.int64), method=np.full(n, "", dtype="<U12"),
        ok=np.zeros(n, np.bool_), reason=np.full(n, "", dtype="<U80"),
    )  # fmt: skip


def _triangulate(
    out: BearingFixes,
    rows: NDArray[np.intp],
    starts: NDArray[np.intp],
    ox: F64,
    oy: F64,
    az: F64,
    sd: F64,
    rmin: F64,
    rmax: F64,
    min_angle_deg: float,
    max_range_m: float,
    iterations: int,
) -> None:
    th = np.radians(az[rows])
    dx, dy = np.sin(th), np.cos(th)  # unit direction of each bearing
    nx, ny = np.cos(th), -np.sin(th)  # unit normal
    px, py = ox[rows], oy[rows]
    c = nx * px + ny * py
    sig = np.radians(sd[rows])
    size = np.diff(np.r_[starts, rows.size])

    def rep(v: F64) -> F64:
        return np.repeat(v, size)

    def red(v: F64) -> F64:
        return np.asarray(np.add.reduceat(v, starts), dtype=np.float64)

    # angular diversity: eigenvalue ratio of sum n n^T over unit normals
    uxx, uxy, uyy = red(nx * nx), red(nx * ny), red(ny * ny)
    tr, det = uxx + uyy, uxx * uyy - uxy**2
    disc = np.sqrt(np.maximum(tr * tr / 4 - det, 0))
    ratio = (tr / 2 - disc) / np.maximum(tr / 2 + disc, 1e-300)
    cmin = np.cos(np.radians(min_angle_deg))
    parallel = ratio < (1 - cmin) / (1 + cmin)
    w = 1.0 / sig**2
    x = y = np.zeros(size.size)
    axx = axy = ayy = np.ones(size.size)
    for _ in range(max(iterations, 1)):
        axx, axy, ayy = red(w * nx * nx), red(w * nx * ny), red(w * ny * ny)
        bx, by = red(w * nx * c), red(w * ny * c)
        det = axx * ayy - axy**2
        with np.errstate(divide="ignore", invalid="ignore"):
            x = (ayy * bx - axy * by) / det
            y = (axx * by - axy * bx) / det
        r = np.maximum(np.hypot(rep(x) - px, rep(y) - py), 10.0)
        w = 1.0 / (r * sig) ** 2
    det = axx * ayy - axy**2
    with np.errstate(divide="ignore", invalid="ignore"):
        cxx, cxy, cyy = ayy / det, -axy / det, axx / det
    res = nx * rep(x) + ny * rep(y) - c
    chi = red(w * res * res)
    dof = size - 2
    from scipy import stats  # imported here: scipy.stats is slow to import

    limit = np.where(dof > 0, stats.chi2.ppf(0.999, np.maximum(dof, 1)), np.inf)
    ahead = (rep(x) - px) * dx + (rep(y) - py) * dy
    r_obs = np.hypot(rep(x) - px, rep(y) - py)
    behind = np.minimum.reduceat(ahead, starts) <= 0
    too_far = np.maximum.reduceat(r_obs, starts) > max_range_m
    major, minor, orient = _ellipse(cxx, cxy, cyy)
    tol = rep(major)
    lo, hi = rmin[rows], rmax[rows]
    out_rng = (np.isfinite(lo) & (r_obs < lo - tol)) | (np.isfinite(hi) & (r_obs > hi + tol))
    out_range = np.maximum.reduceat(out_rng.astype(np.int8), starts) > 0
    reason = np.full(size.size, "", dtype="<U80")
    reason[out_range] = "fix lies outside the distance range an observer reported"
    reason[chi > limit] = "bearings are inconsistent (residuals beyond chi-square 99.9 %)"
    reason[too_far] = f"bearings meet farther than {max_range_m:.0f} m from an observer"
    reason[behind] = "bearings do not intersect in front of every observer"
    reason[parallel | ~np.isfinite(x) | ~np.isfinite(y)] = "bearings are (nearly) parallel"
    ok = reason == ""
    okr = rep(ok)
    out.ok[rows] = okr
    out.reason[rows] = rep(reason)
    out.n_bearings[rows] = rep(size)
    out.method[rows] = np.where(okr, "triangulated", "")
    for name, val in (
        ("x", x), ("y", y), ("radius_m", major), ("semi_major_m", major),
        ("semi_minor_m", minor), ("azimuth_deg", orient),
        ("cov_xx", cxx), ("cov_xy", cxy), ("cov_yy", cyy),
    ):  # fmt: skip
        getattr(out, name)[rows] = np.where(okr, rep(val), np.nan)


def _ellipse(cxx: F64, cxy: F64, cyy: F64) -> tuple[F64, F64, F64]:
    """95 % semi-axes and the major axis' azimuth (deg from north) of 2x2 covariances."""
    tr, det = cxx + cyy, cxx * cyy - cxy**2
    disc = np.sqrt(np.maximum(tr * tr / 4 - det, 0))
    l1, l2 = tr / 2 + disc, np.maximum(tr / 2 - disc, 0)
    k = CHI2_95_2D
    with np.errstate(invalid="ignore"):
        major, minor = np.sqrt(k * l1), np.sqrt(k * l2)
    # eigenvector of l1: (cxy, l1 - cxx), or (l1 - cyy, cxy); angle from north = atan2(ex, ey)
    ex = np.where(np.abs(cxy) > 1e-12, cxy, np.where(cxx >= cyy, 1.0, 0.0))
    ey = np.where(np.abs(cxy) > 1e-12, l1 - cxx, np.where(cxx >= cyy, 0.0, 1.0))
    orient = np.degrees(np.arctan2(ex, ey)) % 180.0
    return major, minor, orient


def _arcs(
    out: BearingFixes,
    rows: NDArray[np.intp],
    ox: F64,
    oy: F64,
    az: F64,
    sd: F64,
    rmin: F64,
    rmax: F64,
) -> None:
    lo, hi = rmin[rows], rmax[rows]
    lo = np.where(np.isfinite(lo), np.maximum(lo, 0.0), 0.0)
    has = np.isfinite(hi) & (hi > 0) & (hi >= lo)
    half = np.minimum(np.radians(Z95 * sd[rows]), np.pi)
    mid = (lo + hi) / 2
    th = np.radians(az[rows])
    cx, cy = ox[rows] + mid * np.sin(th), oy[rows] + mid * np.cos(th)
    # farthest points of an annular sector from a point on its axis are its corners
    d_out = np.sqrt(hi**2 + mid**2 - 2 * hi * mid * np.cos(half))
    d_in = np.sqrt(lo**2 + mid**2 - 2 * lo * mid * np.cos(half))
    radius = np.maximum(np.maximum(d_out, d_in), (hi - lo) / 2)
    out.ok[rows] = has
    out.method[rows] = np.where(has, "arc", "")
    out.n_bearings[rows] = 1
    out.reason[rows] = np.where(has, "", "a single bearing without a distance range")
    out.x[rows] = np.where(has, cx, np.nan)
    out.y[rows] = np.where(has, cy, np.nan)
    out.radius_m[rows] = np.where(has, radius, np.nan)


def group_bearings(
    t: ArrayLike,
    obs_x: ArrayLike,
    obs_y: ArrayLike,
    az_deg: ArrayLike,
    range_min_m: ArrayLike | None = None,
    range_max_m: ArrayLike | None = None,
    *,
    window_s: float = 60.0,
    max_range_m: float = 60_000.0,
    min_angle_deg: float = 3.0,
) -> NDArray[np.int64]:
    """Candidate events, a group per row.

    Two bearings may be one event when they come from different observers (positions
    1 m apart or more), lie within ``window_s`` in time, and their rays meet in front
    of both, within ``max_range_m`` and within each one's distance range (if given,
    with 20 % slack). Each bearing keeps only its nearest-in-time candidate of each
    other observer, where that choice is mutual; the links are then joined in order
    of time difference, never putting two bearings of one observer in a group.
    """
    tt = np.asarray(t, np.float64)
    n = tt.shape[0]
    if n == 0:
        return np.zeros(0, np.int64)
    ox, oy = np.asarray(obs_x, np.float64), np.asarray(obs_y, np.float64)
    lo, hi = _f(range_min_m, n, 0.0), _f(range_max_m, n, max_range_m)
    lo, hi = np.nan_to_num(lo, nan=0.0) * 0.8, np.nan_to_num(hi, nan=max_range_m) * 1.2
    th = np.radians(np.asarray(az_deg, np.float64))
    _, obs = np.unique(np.c_[np.round(ox), np.round(oy)], axis=0, return_inverse=True)
    obs = obs.ravel().astype(np.int64)
    a, b = _time_pairs(tt, window_s)
    near = (obs[a] != obs[b]) & (np.hypot(ox[b] - ox[a], oy[b] - oy[a]) <= 2 * max_range_m)
    a, b = a[near], b[near]
    d1x, d1y, d2x, d2y = np.sin(th[a]), np.cos(th[a]), np.sin(th[b]), np.cos(th[b])
    cross = d1x * d2y - d1y * d2x
    ex, ey = ox[b] - ox[a], oy[b] - oy[a]
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = (ex * d2y - ey * d2x) / cross
        s2 = (ex * d1y - ey * d1x) / cross
    keep = (
        (np.abs(cross) > np.sin(np.radians(min_angle_deg)))
        & (s1 > 0) & (s2 > 0) & (s1 <= max_range_m) & (s2 <= max_range_m)
        & (s1 >= lo[a]) & (s1 <= hi[a]) & (s2 >= lo[b]) & (s2 <= hi[b])
    )  # fmt: skip
    a, b = _mutual_nearest(a[keep], b[keep], obs, tt)
    return _join(a, b, obs, tt)


def _join(
    a: NDArray[np.intp], b: NDArray[np.intp], obs: NDArray[np.int64], tt: F64
) -> NDArray[np.int64]:
    """Union the links in order of time difference, refusing a second bearing of an
    observer in one group; returns dense group labels."""
    n = tt.size
    parent = list(range(n))
    seen: dict[int, set[int]] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = np.lexsort((b, a, np.abs(tt[a] - tt[b])))
    for i, j in zip(a[order].tolist(), b[order].tolist(), strict=True):
        ri, rj = root(i), root(j)
        if ri == rj:
            continue
        si = seen.get(ri, {int(obs[ri])})
        sj = seen.get(rj, {int(obs[rj])})
        if si & sj:
            continue
        if len(si) < len(sj):
            ri, rj, si, sj = rj, ri, sj, si
        parent[rj] = ri
        seen[ri] = si | sj
        seen.pop(rj, None)
    roots = np.array([root(i) for i in range(n)], np.int64)
    return np.unique(roots, return_inverse=True)[1].astype(np.int64)


def _time_pairs(tt: F64, window_s: float) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """All pairs of rows at most ``window_s`` apart in time."""
    n = tt.size
    order = np.argsort(tt, kind="stable")
    ts = tt[order]
    cnt = np.searchsorted(ts, ts + window_s, side="right") - np.arange(n) - 1
    i = np.repeat(np.arange(n), cnt)
    j = i + 1 + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    return order[i], order[j]


def _mutual_nearest(
    a: NDArray[np.intp], b: NDArray[np.intp], obs: NDArray[np.int64], tt: F64
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Keep the pairs each of whose ends is the other's nearest in time of that observer."""
    if a.size == 0:
        return a, b
    src, dst = np.r_[a, b], np.r_[b, a]
    score = np.abs(tt[src] - tt[dst])
    o = np.lexsort((dst, score, obs[dst], src))
    first = np.r_[True, (src[o][1:] != src[o][:-1]) | (obs[dst][o][1:] != obs[dst][o][:-1])]
    n = np.int64(max(int(tt.size), 1))
    best = np.sort(src[o][first].astype(np.int64) * n + dst[o][first])
    fwd, back = a.astype(np.int64) * n + b, b.astype(np.int64) * n + a

    def has(k: NDArray[np.int64]) -> NDArray[np.bool_]:
        pos = np.minimum(np.searchsorted(best, k), max(best.size - 1, 0))
        return np.asarray((best.size > 0) & (best[pos] == k), dtype=np.bool_)

    m = has(fwd) & has(back)
    return a[m], b[m]
