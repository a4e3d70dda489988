"""Metric conversions on the WGS84 ellipsoid, in one place.

Every conversion between degrees and metres in truceline goes through here:
:func:`metres_per_degree` (the exact lengths of a degree of latitude and of
longitude at a latitude), :func:`degree_box` (a lon/lat box sure to hold a
circle of a given radius), :func:`distance_m` (geodesic distances, pyproj's
Karney algorithm) and :func:`aeqd_error_bound` (how far a distance measured in
an azimuthal equidistant projection can be from the geodesic one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import Geod

__all__ = [
    "EARTH_RADIUS_M",
    "aeqd_error_bound",
    "degree_box",
    "degrees_per_metre",
    "distance_m",
    "metres_per_degree",
]

FloatArray = npt.NDArray[np.float64]

_A = 6_378_137.0  # WGS84 semi-major axis (m)
_F = 1 / 298.257223563  # WGS84 flattening
_E2 = _F * (2 - _F)
#: mean radius of the WGS84 ellipsoid (IUGG R1), for angular distances
EARTH_RADIUS_M = 6_371_008.8
_GEOD = Geod(ellps="WGS84")


def metres_per_degree(lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Length in metres of one degree of latitude and of longitude at ``lat`` (degrees)."""
    phi = np.radians(np.asarray(lat, np.float64))
    w = np.sqrt(1.0 - _E2 * np.sin(phi) ** 2)
    per_lat = np.pi / 180.0 * _A * (1.0 - _E2) / w**3  # meridional radius of curvature
    per_lon = np.pi / 180.0 * _A * np.cos(phi) / w  # parallel's radius
    return per_lat, per_lon


def degrees_per_metre(lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Degrees of longitude and of latitude per metre at ``lat`` (near a pole, a
    longitude degree is taken no shorter than at 89.99994 degrees)."""
    per_lat, per_lon = metres_per_degree(lat)
    return 1.0 / np.maximum(per_lon, np.pi / 180.0 * _A * 1e-6), 1.0 / per_lat


def degree_box(metres: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Half-widths ``(dlon, dlat)`` in degrees of a box around points at ``lat`` that
    holds every point within ``metres`` of them (the degree lengths are taken at their
    shortest over the box; within 1 degree of a pole the box spans all longitudes)."""
    m = np.asarray(metres, np.float64)
    la = np.abs(np.asarray(lat, np.float64))
    shortest_lat, _ = metres_per_degree(0.0)  # a degree of latitude is shortest at the equator
    dlat = m / shortest_lat
    edge = np.minimum(la + dlat, 90.0)
    _, per_lon = metres_per_degree(edge)
    with np.errstate(divide="ignore"):
        dlon = np.where(edge < 89.0, m / np.maximum(per_lon, 1e-9), 360.0)
    return np.minimum(dlon, 360.0), dlat


def distance_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Geodesic distance in metres between the points (vectorised)."""
    a, b, c, d = (np.asarray(v, np.float64) for v in (lon1, lat1, lon2, lat2))
    if a.size == 0:
        return np.zeros(a.shape, np.float64)
    _, _, dist = _GEOD.inv(a, b, c, d)
    return np.asarray(dist, np.float64)


def aeqd_error_bound(length_m: float, lon: Any, lat: Any, lon0: float, lat0: float) -> float:
    """Upper bound (m) of ``|projected - geodesic|`` for any segment of at most
    ``length_m`` between points among ``lon``/``lat`` in the aeqd projection centred on
    (``lat0``, ``lon0``). Its scale lies between 1 (radially) and rho / sin(rho) across,
    rho the angular distance from the centre, at most ``|dlat| + |dlon|`` (a path along
    the meridian, then the parallel); doubled, plus a millimetre, for the ellipsoid and
    rounding."""
    lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    if lon.size == 0:
        return 1e-3
    dlon = np.abs((lon - lon0 + 180.0) % 360.0 - 180.0).max()
    dlat = np.abs(lat - lat0).max()
    rho = min(float(np.radians(dlat + dlon)) + length_m / EARTH_RADIUS_M, np.pi / 2)
    scale = rho / np.sin(rho) if rho > 1e-9 else 1.0
    return 2.0 * length_m * (scale - 1.0) + 1e-3
