"""Side of the line: the probability that an incident lies in each party's area of control.

An incident's location is a bivariate normal: a circle of radius ``r`` (95 %) is
``sigma = r / sqrt(chi2_2(0.95))`` in each axis; an ellipse (95 % semi-axes and the
major axis' azimuth) its rotated equivalent. The probability of each control area is
the share of a fixed set of quasi-random normal offsets (a Halton sequence through
the normal quantile: the same offsets for every incident, so results are
deterministic) that fall inside it, evaluated with ``shapely.contains_xy``.

Incidents whose uncertainty cannot reach a boundary (``shapely.dwithin`` the
boundary at the farthest offset, converted to degrees conservatively) take 0 or 1
from their centre, so only incidents near a line are sampled, and of their offsets only
those farther from the centre than the boundary is (``shapely.distance``, with the
same conservative conversion) are tested: the nearer ones lie on the centre's side.
The shares are the same as testing every offset. Offsets in metres are
turned into degrees with the WGS84 radii of curvature at the incident's latitude,
which is exact to well under a metre over tens of kilometres.

The probabilities of all parties sum to at most 1; the rest lies in no party's
control area (a buffer zone, outside the map).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from truceline.fusion.bearings import CHI2_95_2D
from truceline.geo.geodesy import degrees_per_metre

__all__ = ["SideProbabilities", "normal_offsets", "side_probabilities"]

F64 = NDArray[np.float64]
_CHUNK = 4_000_000  # sample points per contains_xy call
_SLACK_DEG = 1e-9  # rounding in an offset's place and a distance (about 0.1 mm)
DEFAULT_SAMPLES = 256


@dataclass(frozen=True, slots=True)
class SideProbabilities:
    parties: tuple[str, ...]
    p: F64  # n incidents x len(parties)

    def as_dicts(self) -> list[dict[str, float]]:
        """One ``{party: probability}`` per incident (all parties, rounded to 1e-4)."""
        rounded = np.round(self.p, 4)
        return [dict(zip(self.parties, map(float, row), strict=True)) for row in rounded]


def normal_offsets(n: int = 256) -> F64:
    """``n`` deterministic standard bivariate normal points (Halton through the quantile).

    The default 256 are read from ``normal_offsets.json`` (made by this computation, and
    checked against it by the tests): importing ``scipy.stats`` costs more CPU than
    the sides of a million incidents."""
    if n == DEFAULT_SAMPLES:
        return _stored_offsets().copy()
    return computed_offsets(n)


def computed_offsets(n: int) -> F64:
    """``normal_offsets(n)`` computed with scipy."""
    from scipy.stats import norm, qmc  # imported here: scipy.stats is slow to import

    u = qmc.Halton(d=2, scramble=False).random(n + 1)[1:]
    return np.asarray(norm.ppf(np.clip(u, 1e-9, 1 - 1e-9)), dtype=np.float64)


@cache
def _stored_offsets() -> F64:
    text = resources.files(__package__).joinpath("normal_offsets.json").read_text("utf-8")
    return np.asarray(json.loads(text)["offsets"], dtype=np.float64)


def side_probabilities(
    lon: ArrayLike,
    lat: ArrayLike,
    radius_m: ArrayLike,
    control: Mapping[str, BaseGeometry],
    *,
    semi_major_m: ArrayLike | None = None,
    semi_minor_m: ArrayLike | None = None,
    azimuth_deg: ArrayLike | None = None,
    n_samples: int = DEFAULT_SAMPLES,
) -> SideProbabilities:
    """P(incident in each party's control area); ``control`` maps party to lon/lat geometry.

    Rows with a finite ellipse use it, the others their circle ``radius_m``.
    """
    x, y = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    n = x.size
    r = np.nan_to_num(np.asarray(radius_m, np.float64), nan=0.0)
    s = 1 / np.sqrt(CHI2_95_2D)
    sa, sb = np.broadcast_to(r * s, (n,)).copy(), np.broadcast_to(r * s, (n,)).copy()
    th = np.zeros(n)
    if semi_major_m is not None and semi_minor_m is not None and azimuth_deg is not None:
        a, b = np.asarray(semi_major_m, np.float64), np.asarray(semi_minor_m, np.float64)
        have = np.isfinite(a) & np.isfinite(b)
        sa, sb = np.where(have, a * s, sa), np.where(have, b * s, sb)
        th = np.where(have, np.radians(np.nan_to_num(np.asarray(azimuth_deg, np.float64))), 0.0)
    z = normal_offsets(n_samples)
    reach = np.max(np.hypot(z[:, 0], z[:, 1])) * np.maximum(sa, sb) * 1.01
    dlon, dlat = degrees_per_metre(y)
    reach_deg = reach * np.maximum(dlon, dlat)
    parties = tuple(sorted(control))
    p = np.zeros((n, len(parties)))
    spread = np.flatnonzero(reach_deg > 0)
    centres = shapely.points(x[spread], y[spread])
    # offsets by length: those of an incident closer to its centre than the boundary is
    # lie on the centre's side and need no test (the share counts them all the same)
    z = z[np.argsort(np.hypot(z[:, 0], z[:, 1]), kind="stable")]
    zlen = np.hypot(z[:, 0], z[:, 1])
    # an offset's length in degrees is at most its length in metres times this
    scale = np.maximum(sa, sb) * np.maximum(dlon, dlat)
    for k, party in enumerate(parties):
        geom = control[party]
        shapely.prepare(geom)
        p[:, k] = shapely.contains_xy(geom, x, y)
        near = spread
        clear = np.zeros(0)
        if near.size:
            bnd = geom.boundary
            shapely.prepare(bnd)
            hit = shapely.dwithin(bnd, centres, reach_deg[near])
            near, clear = near[hit], shapely.distance(bnd, centres[hit])
        # the offsets each near incident must test: from the first that may cross
        first = np.searchsorted(zlen * (1 + 1e-9), (clear - _SLACK_DEG) / scale[near])
        step = max(_CHUNK // max(z.shape[0], 1), 1)
        for lo in range(0, near.size, step):
            rows, skip = near[lo : lo + step], first[lo : lo + step]
            hits = _sampled(geom, x, y, sa, sb, th, dlon, dlat, rows, z, skip)
            p[rows, k] = (skip * p[rows, k] + hits) / z.shape[0]
    return SideProbabilities(parties, p)


def _sampled(
    geom: BaseGeometry,
    x: F64,
    y: F64,
    sa: F64,
    sb: F64,
    th: F64,
    dlon: F64,
    dlat: F64,
    rows: NDArray[np.intp],
    z: F64,
    first: NDArray[np.intp],
) -> F64:
    """How many of the offsets ``first[i]:`` of each of ``rows`` fall inside ``geom``."""
    counts = z.shape[0] - first
    at = np.repeat(np.arange(rows.size), counts)
    j = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    j += np.repeat(first, counts)
    r = rows[at]
    # major axis along azimuth th (clockwise from north): east = sin, north = cos
    ux, uy = np.sin(th[r]), np.cos(th[r])
    za, zb = z[j, 0] * sa[r], z[j, 1] * sb[r]
    px = x[r] + (za * ux + zb * uy) * dlon[r]
    py = y[r] + (za * uy - zb * ux) * dlat[r]
    inside = shapely.contains_xy(geom, px, py)
    return np.bincount(at, weights=inside, minlength=rows.size).astype(np.float64)
