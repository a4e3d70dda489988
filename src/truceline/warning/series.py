"""Daily count series per unit (sector, oblast, kind), built from event arrays.

A series is a matrix of counts, one row per unit and one column per local day of
the stated time zone, from ``start`` on. Days are numbered as days since
1970-01-01 in that zone (local dates, not UTC instants). When the events have
end times (air-raid alerts), a second matrix of the same shape, ``overnight``,
counts the events of each unit still active at the end of each local day
(started by local midnight, ended after it): a wave that runs past midnight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from truceline.domain.errors import InputError

__all__ = ["DailySeries", "day_number", "from_events", "local_days", "local_seconds"]

EPOCH = date(1970, 1, 1)
IntArray = npt.NDArray[np.int64]


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Counts ``counts[u, d]`` for unit ``units[u]`` on local day ``start + d``;
    ``overnight[u, d]`` the events of the unit still active at the end of that day
    (``None`` when the events have no end times)."""

    units: tuple[str, ...]
    start: date
    counts: IntArray
    tz: str
    notes: tuple[str, ...] = field(default=())
    overnight: IntArray | None = None

    @property
    def n_days(self) -> int:
        return int(self.counts.shape[1])

    def day(self, i: int) -> date:
        return self.start + timedelta(days=int(i))

    def index_of(self, d: date) -> int:
        """Column of local day ``d`` (may lie outside the series)."""
        return (d - self.start).days

    def weekly(self) -> DailySeries:
        """Counts per 7-day block from ``start`` (a trailing partial week is dropped)."""
        n = self.n_days // 7
        c = self.counts[:, : n * 7].reshape(len(self.units), n, 7).sum(axis=2)
        return DailySeries(self.units, self.start, c, self.tz, (*self.notes, "weekly sums"))

    def since(self, first: date) -> DailySeries:
        """The series from local day ``first`` on (unchanged when it starts later)."""
        i = max(0, self.index_of(first))
        note = f"from {first.isoformat()}"
        night = None if self.overnight is None else self.overnight[:, i:]
        return DailySeries(
            self.units, self.day(i), self.counts[:, i:], self.tz, (*self.notes, note), night
        )

    def select(self, keep: npt.NDArray[np.bool_]) -> DailySeries:
        """Only the units where ``keep`` is true."""
        units = tuple(u for u, k in zip(self.units, keep, strict=True) if k)
        night = None if self.overnight is None else self.overnight[keep]
        return DailySeries(units, self.start, self.counts[keep], self.tz, self.notes, night)


def local_seconds(epoch_s: npt.ArrayLike, tz: str) -> IntArray:
    """Local wall-clock seconds since 1970-01-01 (in ``tz``) of UTC epoch seconds."""
    arr = pa.array(np.asarray(epoch_s, dtype=np.int64), pa.timestamp("s", tz="UTC"))
    try:
        local = pc.local_timestamp(arr.cast(pa.timestamp("s", tz=tz)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"unknown time zone {tz!r}") from exc
    return np.asarray(local.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def local_days(epoch_s: npt.ArrayLike, tz: str) -> IntArray:
    """Local day numbers (days since 1970-01-01 in ``tz``) of UTC epoch seconds."""
    return np.asarray(np.floor_divide(local_seconds(epoch_s, tz), 86_400), dtype=np.int64)


def from_events(
    units: npt.ArrayLike,
    days: npt.ArrayLike,
    *,
    tz: str,
    weights: npt.ArrayLike | None = None,
    start: date | None = None,
    end: date | None = None,
    unit_order: tuple[str, ...] | None = None,
    notes: tuple[str, ...] = (),
    last_days: npt.ArrayLike | None = None,
) -> DailySeries:
    """Count events per (unit, local day); ``end`` is inclusive.

    ``days`` are local day numbers; events outside ``start .. end`` are left out.
    Units come sorted unless ``unit_order`` gives them (events of other units are
    left out then). With ``last_days`` (the local day of each event's last active
    second: its end minus one second) the series also counts, per day, the events
    active at its end (``overnight``): an event started on day ``d`` and last
    active on day ``e > d`` counts on days ``d .. e-1``.
    """
    u = np.asarray(units, dtype=object).astype(str)
    d = np.asarray(days, dtype=np.int64)
    w = np.ones(d.shape, np.int64) if weights is None else np.asarray(weights, np.int64)
    if d.size == 0 and (start is None or end is None):
        raise InputError("no events, and no start and end to make an empty series")
    d0 = day_number(start) if start is not None else int(d.min())
    d1 = day_number(end) if end is not None else int(d.max())
    if d1 < d0:
        raise InputError(f"the series ends ({EPOCH + timedelta(d1)}) before it starts")
    names = tuple(
        str(x) for x in (unit_order if unit_order is not None else sorted(set(u.tolist())))
    )
    lookup = {n: i for i, n in enumerate(names)}
    uniq, inverse = np.unique(u, return_inverse=True)
    ui = np.array([lookup.get(x, -1) for x in uniq.tolist()], dtype=np.int64)[inverse]
    keep = (ui >= 0) & (d >= d0) & (d <= d1)
    n_days = d1 - d0 + 1
    flat = np.bincount(
        ui[keep] * n_days + (d[keep] - d0), weights=w[keep], minlength=len(names) * n_days
    )
    counts = np.rint(flat).astype(np.int64).reshape(len(names), n_days)
    night = None
    if last_days is not None:
        night = _overnight(ui, d, np.asarray(last_days, dtype=np.int64), d0, n_days, len(names))
    return DailySeries(names, EPOCH + timedelta(days=d0), counts, tz, notes, night)


def _overnight(
    ui: IntArray, first: IntArray, last: IntArray, d0: int, n_days: int, n_units: int
) -> IntArray:
    """Events of each unit active at the end of each day ``d0 ..``: days ``first ..
    last-1`` of each event, those of the series only."""
    lo = np.clip(first, d0, d0 + n_days)
    hi = np.clip(last, d0, d0 + n_days)
    ok = (ui >= 0) & (hi > lo)
    span = (hi - lo)[ok]
    rec = np.repeat(np.flatnonzero(ok), span)
    day = lo[rec] + np.arange(rec.size) - np.repeat(np.cumsum(span) - span, span)
    flat = np.bincount(ui[rec] * n_days + (day - d0), minlength=n_units * n_days)
    return np.asarray(flat, dtype=np.int64).reshape(n_units, n_days)
