"""Fast forward projection of many points, with a certified error bound.

Projecting a million points with PROJ costs most of a clustering run, yet a
metric projection over one theatre is a smooth function that a bivariate
polynomial of low degree reproduces to micrometres. :func:`fit_projection` fits
that polynomial on a Chebyshev grid projected with pyproj and measures its
error on a second, denser grid; :func:`project` evaluates it in cache-sized
chunks (Horner scheme). Callers that compare distances against a threshold
treat pairs within the error bound of the threshold as undecided and settle
them with exact pyproj coordinates (see ``fusion.cluster``), so results equal
those of projecting everything with PROJ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
from numpy.typing import NDArray

from truceline.domain.errors import InputError

__all__ = ["PolyProjection", "exact_forward", "fit_projection", "project"]

F64 = NDArray[np.float64]
#: above this validated error (metres) the polynomial is not used
MAX_POLY_ERROR_M = 0.5
_CHUNK = 1 << 15


@dataclass(frozen=True, slots=True)
class PolyProjection:
    """``x, y`` = polynomials of total degree ``degree`` in normalised lon/lat."""

    crs: str
    centre: tuple[float, float]  # lon, lat of the box centre
    half: tuple[float, float]  # half widths of the box, degrees
    cx: F64  # (degree+1, degree+1) coefficients, [i, j] of u**i v**j
    cy: F64
    error_m: float  # validated bound on |poly - pyproj| per coordinate, metres


def _transformer(crs: str) -> pyproj.Transformer:
    try:
        return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(f"projection {crs!r}: {exc}") from exc


def exact_forward(lon: F64, lat: F64, crs: str) -> tuple[F64, F64]:
    """lon/lat degrees -> x, y metres with PROJ (the reference)."""
    x, y = _transformer(crs).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, float), np.asarray(y, float)


def fit_projection(
    bounds: tuple[float, float, float, float], crs: str, degree: int = 6
) -> PolyProjection:
    """Fit the polynomial over ``bounds`` (lon_min, lat_min, lon_max, lat_max)."""
    lo0, la0, lo1, la1 = bounds
    centre = ((lo0 + lo1) / 2.0, (la0 + la1) / 2.0)
    half = (max((lo1 - lo0) / 2.0, 1e-6), max((la1 - la0) / 2.0, 1e-6))
    tr = _transformer(crs)
    m = 3 * degree
    g = np.cos(np.pi * (np.arange(m) + 0.5) / m)
    gu, gv = (a.ravel() for a in np.meshgrid(g, g))
    gx, gy = tr.transform(centre[0] + half[0] * gu, centre[1] + half[1] * gv)
    terms = [(i, j) for i in range(degree + 1) for j in range(degree + 1 - i)]
    vander = np.column_stack([gu**i * gv**j for i, j in terms])
    cx = np.zeros((degree + 1, degree + 1))
    cy = np.zeros((degree + 1, degree + 1))
    for out, target in ((cx, gx), (cy, gy)):
        coef = np.linalg.lstsq(vander, np.asarray(target), rcond=None)[0]
        for k, (i, j) in enumerate(terms):
            out[i, j] = coef[k]
    proj = PolyProjection(crs, centre, half, cx, cy, float("inf"))
    # validate on a denser uniform grid that includes the box edges
    v = np.linspace(-1.0, 1.0, 8 * degree + 1)
    vu, vv = (a.ravel() for a in np.meshgrid(v, v))
    lon, lat = centre[0] + half[0] * vu, centre[1] + half[1] * vv
    ex, ey = tr.transform(lon, lat)
    px, py = project(proj, lon, lat)
    err = float(max(np.abs(px - ex).max(), np.abs(py - ey).max()))
    if not np.isfinite(err):
        raise InputError(f"projection {crs!r} is undefined over {bounds}")
    # the residual of a smooth fit varies slowly: a wide factor covers between grid nodes
    return PolyProjection(crs, centre, half, cx, cy, 10.0 * err + 1e-6)


def _horner(u: F64, v: F64, c: F64, out: F64, tmp: F64) -> None:
    d = c.shape[0] - 1
    out.fill(0.0)
    for i in range(d, -1, -1):
        tmp.fill(c[i, d - i])
        for j in range(d - i - 1, -1, -1):
            tmp *= v
            tmp += c[i, j]
        out *= u
        out += tmp


def project(p: PolyProjection, lon: F64, lat: F64) -> tuple[F64, F64]:
    """Evaluate the polynomial (points outside the fitted box are not covered)."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    n = len(lon)
    x, y = np.empty(n), np.empty(n)
    u, v, tmp = np.empty(_CHUNK), np.empty(_CHUNK), np.empty(_CHUNK)
    iu, iv = 1.0 / p.half[0], 1.0 / p.half[1]
    for s in range(0, n, _CHUNK):
        e = min(n, s + _CHUNK)
        uu, vv, tt = u[: e - s], v[: e - s], tmp[: e - s]
        np.subtract(lon[s:e], p.centre[0], out=uu)
        uu *= iu
        np.subtract(lat[s:e], p.centre[1], out=vv)
        vv *= iv
        _horner(uu, vv, p.cx, x[s:e], tt)
        _horner(uu, vv, p.cy, y[s:e], tt)
    return x, y
