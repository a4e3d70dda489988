"""Coverage declarations: what a source could observe, and when, in the store.

``observed`` (a field of view over hours, a buffered patrol route), ``outage`` (a
sensor down) and ``denied`` (monitors refused passage) records are stored with their
GeoJSON footprint and appended to the ledger in the same transaction;
:func:`coverage_of` qualifies counts per sector (see ``fusion.coverage``). The
mission's observations of restrictions (access denied, delayed, conditional, UAVs
jammed) are ``denied`` records too, with the restriction as their reason
(``fusion.coverage.restriction_gaps``): read with the declared ones, never stored twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from truceline.domain.errors import InputError, NotFound
from truceline.fusion.coverage import (
    COVERAGE_KINDS,
    GAP_KINDS,
    CoverageRecord,
    buffer_metres,
    observed_fraction,
    restriction_gaps,
)
from truceline.service.workspace import Workspace
from truceline.store import coverage as store
from truceline.store import ledger as log
from truceline.store import sources as store_sources
from truceline.store.db import Connection, Row, reading, store_errors, writing

__all__ = [
    "CoverageInfo",
    "add_coverage",
    "add_coverage_windows",
    "coverage_gaps",
    "coverage_of",
    "coverage_records",
    "coverage_windows",
    "sector_coverage",
    "source_coverage",
]


@dataclass(frozen=True, slots=True)
class CoverageInfo:
    id: int
    source_id: str
    kind: str
    t_start: int
    t_end: int
    geometry: dict[str, Any] | None
    note: str | None
    ledger_index: int | None


def _geometry(
    geom: Mapping[str, Any] | BaseGeometry | None, buffer_m: float | None
) -> BaseGeometry | None:
    if geom is None:
        return None
    if isinstance(geom, BaseGeometry):
        g = geom
    elif geom.get("type") == "FeatureCollection":
        g = shapely.union_all([shape(f["geometry"]) for f in geom.get("features", [])])
    else:
        g = shape(geom["geometry"] if geom.get("type") == "Feature" else geom)
    return _area(g, buffer_m)


def _area(geom: BaseGeometry, buffer_m: float | None) -> BaseGeometry:
    if buffer_m:
        geom = buffer_metres(geom, buffer_m)
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(
            f"coverage geometry must be an area (give a buffer for a {geom.geom_type})"
        )
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InputError("coverage geometry is not in lon/lat degrees")
    return geom.buffer(0) if not geom.is_valid else geom


def add_coverage(
    ws: Workspace,
    source_id: str,
    kind: str,
    t_start: int,
    t_end: int,
    geometry: Mapping[str, Any] | BaseGeometry | None = None,
    *,
    buffer_m: float | None = None,
    note: str | None = None,
    actor: str,
) -> CoverageInfo:
    """Declare what a source could (``observed``) or could not (``outage``, ``denied``) see."""
    return add_coverage_windows(
        ws, source_id, kind, [(t_start, t_end)], geometry, buffer_m=buffer_m, note=note, actor=actor
    )[0]


def coverage_windows(
    t0: int, t1: int, daily: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    """The windows of ``[t0, t1)``: the whole period, or with ``daily`` (start, end in
    seconds of the UTC day) the hours of each day within it."""
    from truceline.fusion.coverage import daily_windows

    return [(t0, t1)] if daily is None else daily_windows(t0, t1, *daily)


def add_coverage_windows(
    ws: Workspace,
    source_id: str,
    kind: str,
    windows: Sequence[tuple[int, int]],
    geometry: Mapping[str, Any] | BaseGeometry | None = None,
    *,
    buffer_m: float | None = None,
    note: str | None = None,
    actor: str,
) -> list[CoverageInfo]:
    """One coverage record per ``(t_start, t_end)`` window (e.g. a post's daily hours,
    see ``fusion.coverage.daily_windows``), all in one transaction."""
    if kind not in COVERAGE_KINDS:
        raise InputError(f"coverage kind {kind!r} is not one of {list(COVERAGE_KINDS)}")
    if not windows:
        raise InputError("coverage: no window (the daily hours never fall within the period)")
    if any(b <= a for a, b in windows):
        raise InputError("coverage ends before it starts")
    try:
        geom = _geometry(geometry, buffer_m)
    except (KeyError, TypeError, AttributeError, ValueError, shapely.errors.GEOSException) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"coverage geometry: not valid GeoJSON ({exc})") from exc
    if kind == "observed" and geom is None:
        raise InputError("an observed coverage needs its area (field of view, buffered route)")
    gj = None if geom is None else json.dumps(mapping(geom))
    bounds = (None,) * 4 if geom is None else geom.bounds
    base: dict[str, Any] = {
        "source_id": source_id,
        "kind": kind,
        "geometry": gj,
        "note": note,
        **dict(zip(("minx", "miny", "maxx", "maxy"), bounds, strict=True)),
    }
    rows = [{**base, "t_start": int(a), "t_end": int(b)} for a, b in windows]
    with writing(ws.engine, "recording coverage") as conn:
        if store_sources.get_source(conn, source_id) is None:
            raise NotFound(f"no source {source_id!r}")
        recs = [
            (source_id, {**{k: v for k, v in r.items() if v is not None}, "actor": actor})
            for r in rows
        ]
        out = []
        for r, i in zip(rows, log.append(conn, "coverage", recs), strict=True):
            r["ledger_index"] = i
            out.append(_coverage_info(store.insert_coverage(conn, r)))
        return out


def _coverage_info(r: Row[Any]) -> CoverageInfo:
    geom = None if r.geometry is None else json.loads(r.geometry)
    return CoverageInfo(r.id, r.source_id, r.kind, r.t_start, r.t_end, geom, r.note, r.ledger_index)


def coverage_records(conn: Connection, t0: int, t1: int) -> list[CoverageRecord]:
    """The coverage declarations overlapping ``[t0, t1)``, ready for ``fusion.coverage``,
    then the denials that the mission's reports of restrictions make."""
    rows = store.overlapping(conn, t0, t1)
    declared = [
        CoverageRecord(
            r.source_id,
            r.kind,
            r.t_start,
            r.t_end,
            None if r.geometry is None else shape(json.loads(r.geometry)),
        )
        for r in rows
    ]
    return declared + [g for g, _ in _restriction_records(conn, t0, t1)]


def _delay_min(attrs: str | None) -> float:
    try:
        v = json.loads(attrs).get("delay_min") if attrs else None
    except (ValueError, AttributeError):
        return float("nan")
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else float("nan")


def _restriction_records(conn: Connection, t0: int, t1: int) -> list[tuple[CoverageRecord, str]]:
    """The denials made by restriction observations overlapping ``[t0, t1)``, each with
    its source's type."""
    rows = store.restrictions(conn, t0, t1, GAP_KINDS)
    nan = float("nan")
    gaps = restriction_gaps(
        [r["source_id"] for r in rows],
        [r["kind"] for r in rows],
        [r["t"] for r in rows],
        [nan if r["lon"] is None else r["lon"] for r in rows],
        [nan if r["lat"] is None else r["lat"] for r in rows],
        [nan if r["radius_m"] is None else r["radius_m"] for r in rows],
        [_delay_min(r["attrs"]) for r in rows],
    )
    return [
        (g, str(r["source_type"]))
        for g, r in zip(gaps, rows, strict=True)
        if g.t_end > t0 and g.t_start < t1
    ]


def coverage_gaps(conn: Connection, t0: int, t1: int) -> list[dict[str, Any]]:
    """What the mission could not see in ``[t0, t1)``: declared outages and denials, then
    the areas not observed because access was denied (``reason``: the restriction)."""
    from truceline.store.reports import coverage_gaps as declared

    out = [dict(g, reason=None) for g in declared(conn, t0, t1)]
    for g, source_type in _restriction_records(conn, t0, t1):
        bounds = (None,) * 4 if g.geometry is None else g.geometry.bounds
        out.append(
            {"source_id": g.source_id, "source_type": source_type, "kind": g.kind,
             "t_start": g.t_start, "t_end": g.t_end, "note": None, "reason": g.reason,
             **dict(zip(("minx", "miny", "maxx", "maxy"), bounds, strict=True))}
        )  # fmt: skip
    return sorted(out, key=lambda g: (g["t_start"], g["source_id"]))


def coverage_of(
    conn: Connection, sectors: Mapping[str, BaseGeometry], t0: int, t1: int
) -> dict[str, float]:
    """Per sector id (lon/lat polygons), the fraction of area x ``[t0, t1)`` someone observed."""
    with store_errors("reading coverage"):
        recs = coverage_records(conn, t0, t1)
    return observed_fraction(sectors, recs, t0, t1)


def source_coverage(conn: Connection, source_id: str) -> list[CoverageInfo]:
    """A source's coverage declarations, oldest first."""
    rows = store.of_source(conn, source_id)
    return [_coverage_info(r) for r in rows]


def sector_coverage(ws: Workspace, t0: int, t1: int) -> dict[str, float]:
    """:func:`coverage_of` over the reporting sectors of the agreement in force at ``t0``."""
    from truceline.service.agreements import agreement_in_force

    if t1 <= t0:
        raise InputError("the period ends before it starts")
    with reading(ws.engine, "reading coverage") as conn:
        agreement = agreement_in_force(conn, t0)
        if agreement is None:
            raise NotFound("no agreement in force at the start of the period")
        sectors = {z.id: z.geometry for z in agreement.zones_of("sector")}
        return coverage_of(conn, sectors, t0, t1)
