"""Place names for reports: a small gazetteer of towns along the lines of contact of
2015 and 2025 and of major cities of the theatre, and the nearest of them to a point.

Coordinates are public town-centre positions (rounded to 0.01 degree), the same
public facts the shipped agreements were drawn through. They label maps and let the
public edition say "8 km NE of Horlivka" instead of printing a weapon's position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from truceline.report.labels import N_

__all__ = ["GAZETTEER", "Place", "describe", "nearest", "nearest_many"]

#: (name, lon, lat, major): major cities are labelled on every map; names are English
#: exonyms, which reports in other languages translate through the catalogues
GAZETTEER: tuple[tuple[str, float, float, bool], ...] = (
    (N_("Kyiv"), 30.52, 50.45, True),
    (N_("Kharkiv"), 36.23, 49.99, True),
    (N_("Dnipro"), 35.05, 48.46, True),
    (N_("Zaporizhzhia"), 35.14, 47.84, True),
    (N_("Odesa"), 30.73, 46.48, True),
    (N_("Lviv"), 24.03, 49.84, True),
    (N_("Mykolaiv"), 31.99, 46.97, True),
    (N_("Kherson"), 32.62, 46.64, True),
    (N_("Donetsk"), 37.80, 48.00, True),
    (N_("Luhansk"), 39.31, 48.57, True),
    (N_("Mariupol"), 37.55, 47.10, True),
    (N_("Sumy"), 34.80, 50.91, True),
    (N_("Chernihiv"), 31.29, 51.50, True),
    (N_("Poltava"), 34.55, 49.59, True),
    (N_("Belgorod"), 36.59, 50.60, True),
    (N_("Rostov-on-Don"), 39.72, 47.22, True),
    (N_("Simferopol"), 34.10, 44.95, True),
    (N_("Kramatorsk"), 37.56, 48.74, False),
    (N_("Sloviansk"), 37.61, 48.85, False),
    (N_("Sievierodonetsk"), 38.49, 48.95, False),
    (N_("Lysychansk"), 38.43, 48.90, False),
    (N_("Bakhmut"), 38.00, 48.60, False),
    (N_("Horlivka"), 38.05, 48.31, False),
    (N_("Avdiivka"), 37.75, 48.14, False),
    (N_("Yasynuvata"), 37.86, 48.13, False),
    (N_("Makiivka"), 37.96, 48.05, False),
    (N_("Pokrovsk"), 37.18, 48.28, False),
    (N_("Myrnohrad"), 37.27, 48.30, False),
    (N_("Kostiantynivka"), 37.71, 48.53, False),
    (N_("Toretsk"), 37.84, 48.40, False),
    (N_("Chasiv Yar"), 37.84, 48.59, False),
    (N_("Volnovakha"), 37.50, 47.60, False),
    (N_("Debaltseve"), 38.41, 48.34, False),
    (N_("Popasna"), 38.38, 48.63, False),
    (N_("Zolote"), 38.51, 48.69, False),
    (N_("Shchastia"), 39.23, 48.74, False),
    (N_("Stanytsia Luhanska"), 39.49, 48.66, False),
    (N_("Marinka"), 37.50, 47.94, False),
    (N_("Vuhledar"), 37.25, 47.78, False),
    (N_("Shyrokyne"), 37.73, 47.06, False),
    (N_("Novoazovsk"), 38.08, 47.11, False),
    (N_("Kupiansk"), 37.62, 49.71, False),
    (N_("Vovchansk"), 36.95, 50.29, False),
    (N_("Lyman"), 37.81, 48.99, False),
    (N_("Siversk"), 38.10, 48.87, False),
    (N_("Velyka Novosilka"), 36.83, 47.84, False),
    (N_("Huliaipole"), 36.26, 47.66, False),
    (N_("Orikhiv"), 35.79, 47.57, False),
    (N_("Vasylivka"), 35.28, 47.44, False),
    (N_("Enerhodar"), 34.66, 47.50, False),
    (N_("Nikopol"), 34.39, 47.57, False),
    (N_("Melitopol"), 35.37, 46.85, False),
    (N_("Berdiansk"), 36.80, 46.76, False),
    (N_("Nova Kakhovka"), 33.37, 46.76, False),
)

_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    km: float  # distance from the place to the point
    direction: str  # compass point of the point as seen from the place


@cache
def _table() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    lon = np.array([g[1] for g in GAZETTEER])
    lat = np.array([g[2] for g in GAZETTEER])
    return lon, lat, tuple(g[0] for g in GAZETTEER)


def nearest(lon: float, lat: float) -> Place:
    """The gazetteer's place nearest to (lon, lat), on the WGS84 ellipsoid."""
    from pyproj import Geod

    plon, plat, names = _table()
    az, _back, dist = Geod(ellps="WGS84").inv(
        plon, plat, np.full_like(plon, lon), np.full_like(plat, lat)
    )
    i = int(np.argmin(dist))
    compass = _COMPASS[int(((float(az[i]) % 360) + 22.5) // 45) % 8]
    return Place(names[i], float(dist[i]) / 1000.0, compass)


_CANDIDATES = 4  # nearest by a flat approximation, then measured on the ellipsoid


def nearest_many(lon: Sequence[float], lat: Sequence[float]) -> list[Place]:
    """:func:`nearest` of many points at once: the few nearest places of each point by
    a flat (equirectangular) approximation, then one ellipsoidal measure of those, as
    arrays (a page of 10,000 incidents costs 40,000 geodesics in one call)."""
    from pyproj import Geod

    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    if x.size == 0:
        return []
    plon, plat, names = _table()
    k = min(_CANDIDATES, plon.size)
    dx = (x[:, None] - plon[None, :]) * np.cos(np.radians((y[:, None] + plat[None, :]) / 2))
    dy = y[:, None] - plat[None, :]
    cand = np.argpartition(dx * dx + dy * dy, k - 1, axis=1)[:, :k]
    az, _back, dist = Geod(ellps="WGS84").inv(
        plon[cand].ravel(), plat[cand].ravel(), np.repeat(x, k), np.repeat(y, k)
    )
    dist = np.asarray(dist).reshape(-1, k)
    best = np.argmin(dist, axis=1)
    rows = np.arange(x.size)
    which = cand[rows, best]
    km = dist[rows, best] / 1000.0
    point = ((np.asarray(az).reshape(-1, k)[rows, best] % 360 + 22.5) // 45).astype(int) % 8
    return [
        Place(names[i], float(d), _COMPASS[c])
        for i, d, c in zip(which.tolist(), km.tolist(), point.tolist(), strict=True)
    ]


def describe(lon: float, lat: float) -> str:
    """ "8 km NE of Horlivka", or "Horlivka" within 2 km of its centre."""
    p = nearest(lon, lat)
    if p.km < 2.0:
        return p.name
    return f"{p.km:.0f} km {p.direction} of {p.name}"
