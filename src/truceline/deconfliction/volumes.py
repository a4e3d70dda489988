"""4D volumes: a footprint (polygon, circle or a route buffered by a width), an altitude
band and a time window, with the activity planned in it; or a protected site that
stands until withdrawn.

Footprints are stored in lon/lat and every predicate is planar on those coordinates
(straight edges in lon/lat, as the agreement's zones). Circles and route widths are
drawn in an aeqd projection centred on the shape, then brought back to lon/lat.
Validation names each problem (field and reason) and refuses the whole volume.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from truceline.domain.errors import InputError, Problem
from truceline.geo.projection import Projector

__all__ = [
    "ACTIVITIES",
    "FOREVER",
    "SITES",
    "Activity",
    "Site",
    "Volume",
    "footprint",
    "volume_from_spec",
]

#: the end of a window that has none (a protected site stands until withdrawn)
FOREVER = 2**62
#: altitude bounds of a band that has none (a site protects every altitude)
_ALT_LOW, _ALT_HIGH = -1.0e6, 1.0e6
#: the largest footprint radius or route width accepted (metres)
_MAX_RADIUS_M = 500_000.0


class Activity(StrEnum):
    """What a party plans inside a volume."""

    FLIGHT = "flight"
    CONVOY = "convoy"
    ROTATION = "rotation"
    EXERCISE = "exercise"
    DEMINING = "demining"
    HUMANITARIAN = "humanitarian"
    REPAIR = "repair"


class Site(StrEnum):
    """What a protected site shelters."""

    HOSPITAL = "hospital"
    SHELTER = "shelter"
    AID_WAREHOUSE = "aid_warehouse"
    POWER_PLANT = "power_plant"
    POWER_LINE = "power_line"
    SCHOOL = "school"


ACTIVITIES = frozenset(a.value for a in Activity)
SITES = frozenset(s.value for s in Site)


@dataclass(frozen=True, slots=True)
class Volume:
    """A validated notification volume (times in epoch seconds, altitudes in metres)."""

    geometry: BaseGeometry  # lon/lat polygon or multipolygon
    activity: str  # an Activity, or a Site for a protected site
    t_start: int
    t_end: int  # FOREVER for a protected site
    alt_min: float
    alt_max: float

    @property
    def is_site(self) -> bool:
        return self.activity in SITES

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        b = self.geometry.bounds
        return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _num(spec: Mapping[str, Any], key: str, problems: list[Problem]) -> float | None:
    v = spec.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        problems.append(Problem(f"must be a finite number, got {v!r}", field=key))
        return None
    return float(v)


def _lonlat_pairs(v: Any, key: str, problems: list[Problem]) -> list[tuple[float, float]]:
    ok = isinstance(v, Sequence) and not isinstance(v, str)
    pts: list[tuple[float, float]] = []
    for p in v if ok else []:
        if not (isinstance(p, Sequence) and len(p) == 2) or not all(
            isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c) for c in p
        ):
            ok = False
            break
        pts.append((float(p[0]), float(p[1])))
    if not ok:
        problems.append(Problem("must be a list of [lon, lat] pairs of numbers", field=key))
        return []
    if any(not (-180 <= x <= 180 and -90 <= y <= 90) for x, y in pts):
        problems.append(Problem("longitude or latitude out of range", field=key))
        return []
    return pts


def _metric_buffer(geom: BaseGeometry, metres: float) -> BaseGeometry:
    b = geom.bounds
    proj = Projector.for_bounds(b[0], b[1], b[2], b[3])
    local = proj.geometry_forward(geom).buffer(metres, quad_segs=8)
    return shapely.make_valid(proj.geometry_inverse(local))


def footprint(spec: Mapping[str, Any]) -> BaseGeometry:
    """The lon/lat footprint a spec describes: ``{"polygon": [[lon, lat], ...]}``,
    ``{"circle": [lon, lat], "radius_m": r}`` or ``{"route": [[lon, lat], ...],
    "width_m": w}`` (the route buffered by half the width on each side)."""
    problems: list[Problem] = []
    kinds = [k for k in ("polygon", "circle", "route") if k in spec]
    if len(kinds) != 1:
        raise InputError(
            "footprint refused",
            [Problem("give exactly one of polygon, circle or route", field="footprint")],
        )
    kind = kinds[0]
    geom: BaseGeometry | None = None
    if kind == "polygon":
        pts = _lonlat_pairs(spec["polygon"], "polygon", problems)
        if pts and (len(set(pts)) < 3):
            problems.append(Problem("empty footprint: fewer than 3 distinct corners", field=kind))
        elif pts:
            geom = shapely.Polygon(pts)
            if geom.convex_hull.area == 0:
                problems.append(Problem("empty footprint: zero area", field=kind))
            elif not geom.is_valid:
                why = shapely.is_valid_reason(geom)
                problems.append(Problem(f"self-intersecting footprint ({why})", field=kind))
    elif kind == "circle":
        c = _lonlat_pairs([spec["circle"]], "circle", problems)
        r = _num(spec, "radius_m", problems)
        if r is not None and not 0 < r <= _MAX_RADIUS_M:
            problems.append(Problem(f"must be in (0, {_MAX_RADIUS_M:g}]", field="radius_m"))
        elif c and r is not None:
            geom = _metric_buffer(shapely.Point(c[0]), r)
    else:
        pts = _lonlat_pairs(spec["route"], "route", problems)
        w = _num(spec, "width_m", problems)
        if pts and len(set(pts)) < 2:
            problems.append(Problem("empty route: fewer than 2 distinct points", field=kind))
        if w is not None and not 0 < w <= _MAX_RADIUS_M:
            problems.append(Problem(f"must be in (0, {_MAX_RADIUS_M:g}]", field="width_m"))
        elif len(set(pts)) >= 2 and w is not None:
            geom = _metric_buffer(shapely.LineString(pts), w / 2.0)
    if problems or geom is None:
        raise InputError("footprint refused", problems)
    return geom


def _times(spec: Mapping[str, Any], site: bool, problems: list[Problem]) -> tuple[int, int]:
    t0 = spec.get("t_start")
    t1 = spec.get("t_end", FOREVER if site else None)
    for key, v in (("t_start", t0), ("t_end", t1)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= FOREVER:
            problems.append(Problem(f"must be epoch seconds, got {v!r}", field=key))
    if isinstance(t0, int) and isinstance(t1, int) and t1 < t0:
        problems.append(Problem("window ends before it starts", field="t_end"))
    return (t0 if isinstance(t0, int) else 0), (t1 if isinstance(t1, int) else 0)


def _altitudes(spec: Mapping[str, Any], site: bool, problems: list[Problem]) -> tuple[float, float]:
    if site and "alt_min_m" not in spec and "alt_max_m" not in spec:
        return _ALT_LOW, _ALT_HIGH
    lo = _num(spec, "alt_min_m", problems)
    hi = _num(spec, "alt_max_m", problems)
    if lo is not None and hi is not None and hi < lo:
        problems.append(Problem("altitude band upside down (max below min)", field="alt_max_m"))
    return (lo or 0.0), (hi or 0.0)


def volume_from_spec(spec: Mapping[str, Any], record: str | None = None) -> Volume:
    """Validate a volume spec (activity, footprint, t_start, t_end, alt_min_m, alt_max_m)
    and build it; every problem found is named in the InputError."""
    problems: list[Problem] = []
    activity = spec.get("activity")
    if activity not in ACTIVITIES | SITES:
        known = ", ".join(sorted(ACTIVITIES | SITES))
        problems.append(
            Problem(f"unknown activity type {activity!r} (known: {known})", field="activity")
        )
    site = activity in SITES
    t0, t1 = _times(spec, site, problems)
    lo, hi = _altitudes(spec, site, problems)
    geom: BaseGeometry | None = None
    try:
        geom = footprint(spec.get("footprint") or {})
    except InputError as e:
        problems.extend(e.errors)
    if problems or geom is None:
        where = [Problem(p.reason, field=p.field, record=record) for p in problems]
        raise InputError("; ".join(str(p) for p in where), where)
    return Volume(geom, str(activity), t0, t1, lo, hi)
