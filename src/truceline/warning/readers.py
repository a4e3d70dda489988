"""Daily series from files: air-raid alert records, UCDP GED events, observations in
the native layout (and any other layout the intake reads, such as ACLED), and
tables of published daily counts.

Days are local days of the stated time zone (default Europe/Kyiv, the zone of the
reference agreement). What a reader leaves out or reshapes is written into the
series' ``notes``, never done silently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from truceline.domain.errors import InputError, Problem
from truceline.warning.regions import Regions
from truceline.warning.series import DailySeries, from_events, local_days

__all__ = [
    "DEFAULT_TZ",
    "UNIT_CHOICES",
    "read_air_raid",
    "read_counts_table",
    "read_events",
    "read_series",
    "read_ucdp_events",
]

DEFAULT_TZ = "Europe/Kyiv"
#: units of an event file's series: its administrative region, its kind, or both
UNIT_CHOICES = ("adm1", "kind", "adm1-kind")
#: a region with fewer alert starts than this is left out: a region whose alert
#: never ends (Luhansk from 2022-04-04, Crimea from 2022-12-10) has almost none
MIN_ALERT_STARTS = 30
NO_OVERNIGHT = "no end times: no overnight counts (the model goes without them)"


def _read(path: Path, columns: dict[str, pa.DataType] | None = None) -> pa.Table:
    try:
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=columns))
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"{path}: cannot read as CSV: {exc}") from exc


def _need(path: Path, table: pa.Table, cols: tuple[str, ...], layout: str) -> None:
    missing = [c for c in cols if c not in table.column_names]
    if missing:
        raise InputError(f"{path}: not {layout}: missing column(s) {', '.join(missing)}")


def _epoch(path: Path, table: pa.Table, col: str) -> np.ndarray:
    arr = table.column(col)
    if not pa.types.is_timestamp(arr.type):
        raise InputError(f"{path}: column {col!r} is not ISO 8601 times with an offset")
    if arr.null_count:
        row = int(np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False))[0]) + 2
        raise InputError(f"{path}: empty time", [Problem("empty time", str(path), row, col)])
    secs = arr.cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).to_numpy()
    return np.asarray(secs, dtype=np.int64)


def read_air_raid(
    path: Path, *, tz: str = DEFAULT_TZ, min_starts: int = MIN_ALERT_STARTS
) -> DailySeries:
    """Alert starts (at any level: oblast, raion or hromada) per oblast and local day,
    and (with ``finished_at``) the alerts still active at each local midnight.

    Reads the official layout (``oblast, level, started_at``) and the volunteer one
    (``region, started_at``). Regions with fewer than ``min_starts`` starts are left
    out and named in the notes. An alert with no ``finished_at`` is taken as active
    to the end of the file (counted in the notes).
    """
    table = _read(path)
    unit_col = "oblast" if "oblast" in table.column_names else "region"
    _need(path, table, (unit_col, "started_at"), "an air-raid alert file")
    units = np.asarray(table.column(unit_col).fill_null("").to_pylist(), dtype=object)
    began = _epoch(path, table, "started_at")
    days = local_days(began, tz)
    names, n = np.unique(units.astype(str), return_counts=True)
    few = [f"{u} ({c} starts)" for u, c in zip(names, n, strict=True) if c < min_starts or not u]
    keep = tuple(str(u) for u, c in zip(names, n, strict=True) if c >= min_starts and u)
    notes: tuple[str, ...] = (
        f"alert starts at any level per local day ({tz})",
        f"left out, fewer than {min_starts} starts (an alert that never ends): {', '.join(few)}",
    )
    if "finished_at" not in table.column_names:
        notes = (*notes, "no finished_at: no overnight counts (the model goes without them)")
        return from_events(units, days, tz=tz, unit_order=keep, notes=notes)
    ended = table.column("finished_at")
    if not pa.types.is_timestamp(ended.type) and ended.null_count < len(ended):
        raise InputError(f"{path}: column 'finished_at' is not ISO 8601 times with an offset")
    open_ = ended.is_null().to_numpy(zero_copy_only=False)
    end_s = np.where(open_, int(began.max()) + 86_400, _epoch_or(ended, 0))
    last = local_days(np.maximum(end_s, began + 1) - 1, tz)
    notes = (
        *notes,
        f"overnight: alerts active at local midnight ({int(open_.sum())} with no end,"
        " taken as active to the end of the file)",
    )
    return from_events(units, days, tz=tz, unit_order=keep, notes=notes, last_days=last)


def _epoch_or(arr: pa.ChunkedArray, fill: int) -> np.ndarray:
    """UTC epoch seconds of a timestamp column, ``fill`` where empty."""
    if not pa.types.is_timestamp(arr.type):  # all empty
        return np.full(len(arr), fill, dtype=np.int64)
    secs = arr.cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).fill_null(fill)
    return np.asarray(secs.to_numpy(), dtype=np.int64)


def read_ucdp_events(
    path: Path, *, units: tuple[str, ...] | None = None, tz: str = DEFAULT_TZ
) -> DailySeries:
    """UCDP GED events per ``adm_1`` and day (``date_start``; GED dates are local dates).

    An event whose ``date_end`` is after ``date_start`` is counted on its first day
    and the number of such events is stated in the notes.
    """
    table = _read(path, {"date_start": pa.date32(), "date_end": pa.date32(), "adm_1": pa.string()})
    _need(path, table, ("adm_1", "date_start", "date_end"), "a UCDP GED file")
    start = table.column("date_start").cast(pa.int32()).to_numpy(zero_copy_only=False)
    end = table.column("date_end").cast(pa.int32()).to_numpy(zero_copy_only=False)
    adm1 = np.asarray(table.column("adm_1").fill_null("").to_pylist(), dtype=object)
    chosen = units if units is not None else tuple(sorted({str(a) for a in adm1 if a}))
    inside = np.isin(adm1.astype(str), np.asarray(chosen, dtype=str))
    multi = int(((end > start) & inside).sum())
    notes = (
        "UCDP events per date_start (local dates as published)",
        f"{multi} event(s) spanning more than one day counted on their first day",
        NO_OVERNIGHT,
    )
    return from_events(adm1, start.astype(np.int64), tz=tz, unit_order=chosen, notes=notes)


def read_counts_table(path: Path, *, tz: str = DEFAULT_TZ, spread: bool = True) -> DailySeries:
    """A table of published counts: ``date, region, count`` with optional ``kind`` and
    optional ``period_start, period_end`` (ISO times with offset).

    A period that is not one local calendar day (evening to evening; a weekend) is
    spread evenly over the local days it touches (largest remainders keep the total)
    when ``spread``; otherwise the file is refused naming those rows.
    """
    table = _read(path, {"region": pa.string(), "date": pa.date32()})
    _need(path, table, ("date", "region", "count"), "a table of daily counts")
    counts = table.column("count").to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(~np.isfinite(counts.astype(float)) | (counts < 0))
    if bad.size:
        probs = [
            Problem("count must be a whole number >= 0", str(path), int(i) + 2, "count")
            for i in bad
        ]
        raise InputError(f"{path}: {bad.size} bad count(s)", probs)
    region = np.asarray(table.column("region").fill_null("").to_pylist(), dtype=object)
    if "kind" in table.column_names:
        kind = np.asarray(table.column("kind").fill_null("").to_pylist(), dtype=object)
        region = np.char.add(np.char.add(region.astype(str), "/"), kind.astype(str))
    day = table.column("date").cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    first, last = day, day
    if "period_start" in table.column_names and "period_end" in table.column_names:
        ps = local_days(_epoch(path, table, "period_start"), tz)
        # an end at local midnight closes the previous day
        pe = local_days(_epoch(path, table, "period_end") - 1, tz)
        first, last = ps, np.maximum(pe, ps)
    long_ = np.flatnonzero(last > first)
    if long_.size and not spread:
        probs = [
            Problem("period is not one local day", str(path), int(i) + 2, "period_end")
            for i in long_
        ]
        raise InputError(f"{path}: {long_.size} period(s) longer than one day", probs)
    u, d, w = _spread(region.astype(str), first, last, counts.astype(np.int64))
    note = f"{long_.size} multi-day period(s) spread evenly over their local days ({tz})"
    return from_events(u, d, tz=tz, weights=w, notes=(note, NO_OVERNIGHT))


def _spread(
    units: np.ndarray, first: np.ndarray, last: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row per (record, day) with whole counts that add up to each record's count."""
    span = (last - first + 1).astype(np.int64)
    rec = np.repeat(np.arange(span.size), span)
    offset = np.arange(rec.size) - np.repeat(np.cumsum(span) - span, span)
    base = counts[rec] // span[rec]
    extra = (offset < (counts[rec] % span[rec])).astype(np.int64)
    return units[rec], first[rec] + offset, base + extra


def read_events(
    path: Path,
    *,
    unit: str = "adm1",
    regions: Regions | None = None,
    tz: str = DEFAULT_TZ,
    units: tuple[str, ...] | None = None,
) -> DailySeries:
    """Observations read by the intake (native CSV, Parquet, JSON lines, GeoJSON, or
    ACLED) counted per unit and local day of their time ``t``: one observation is one
    event, whatever its ``count``.

    ``unit`` is ``adm1`` (the region of ``regions`` holding the point), ``kind``, or
    ``adm1-kind`` (``region/kind``). Records the intake refuses, corrections of
    earlier records, and (by region) bearings or points outside every region are
    left out and counted in the notes.
    """
    from truceline.intake.read import read_observations

    if unit not in UNIT_CHOICES:
        raise InputError(f"--unit {unit!r}: use one of {', '.join(UNIT_CHOICES)}")
    if unit != "kind" and regions is None:
        raise InputError(f"--unit {unit}: counting by region needs a boundaries file (--regions)")
    parts: dict[str, list[np.ndarray]] = {"t": [], "lon": [], "lat": [], "kind": []}
    refused = corrections = 0
    first_problem = ""
    for chunk in read_observations(path):
        refused += len(chunk.problems)
        if chunk.problems and not first_problem:
            p = chunk.problems[0]
            first_problem = f" (first: line {p.line}, {p.field}: {p.reason})"
        b = chunk.batch
        keep = b.column("corrects").is_null().to_numpy(zero_copy_only=False)
        corrections += int((~keep).sum())
        for name in parts:
            col = b.column(name)
            arr = col.to_numpy(zero_copy_only=False)
            if name in ("lon", "lat"):
                arr = np.asarray(col.fill_null(float("nan")).to_numpy(zero_copy_only=False))
            parts[name].append(np.asarray(arr)[keep])
    cols = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    kinds = cols["kind"].astype(str)
    notes = [
        f"observations per local day of t ({tz}), one observation one event",
        f"{refused} record(s) refused by the intake{first_problem}",
        f"{corrections} correction(s) of earlier records left out",
    ]
    if unit == "kind" or regions is None:  # no regions: refused above unless by kind
        names = kinds
    else:
        region = regions.assign(cols["lon"], cols["lat"])
        notes.append(f"{int((region == '').sum())} observation(s) in no region of {regions.source}")
        names = region if unit == "adm1" else np.char.add(np.char.add(region, "/"), kinds)
        names = np.where(region == "", "", names)
    inside = names != ""
    days = local_days(cols["t"].astype(np.int64), tz)
    order = units if units is not None else tuple(sorted(set(names[inside].tolist())))
    if not order:
        raise InputError(f"{path}: no observation can be counted ({'; '.join(notes[1:])})")
    return from_events(names, days, tz=tz, unit_order=order, notes=(*notes, NO_OVERNIGHT))


def read_series(
    path: Path,
    layout: str,
    *,
    tz: str = DEFAULT_TZ,
    units: tuple[str, ...] | None = None,
    unit: str = "adm1",
    regions: Regions | None = None,
) -> DailySeries:
    """Dispatch by layout name: ``alerts``, ``ucdp``, ``counts`` or ``events``."""
    if unit != "adm1" and layout != "events":
        raise InputError(f"--unit {unit}: only an event file (native or ACLED) has kinds to count")
    if layout == "alerts":
        return read_air_raid(path, tz=tz)
    if layout == "ucdp":
        return read_ucdp_events(path, units=units, tz=tz)
    if layout == "counts":
        return read_counts_table(path, tz=tz)
    if layout == "events":
        return read_events(path, unit=unit, regions=regions, tz=tz, units=units)
    raise InputError(f"unknown series layout {layout!r} (alerts, ucdp, counts, events)")
