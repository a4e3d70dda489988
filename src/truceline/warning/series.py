"""Daily count series per unit (sector, oblast, kind), built from event arrays.

A series is a matrix of counts, one row per unit and one column per local day of
the stated time zone, from ``start`` on. Days are numbered as days since
1970-01-01 in that zone (local dates, not UTC instants).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from truceline.domain.errors import InputError

__all__ = ["DailySeries", "day_number", "from_events", "local_days"]

EPOCH = date(1970, 1, 1)
IntArray = npt.NDArray[np.int64]


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


@dataclass(frozen=True, slots=True)
class DailySeries:
    """Counts ``counts[u, d]`` for unit ``units[u]`` on local day ``start + d``."""

    units: tuple[str, ...]
    start: date
    counts: IntArray
    tz: str
    notes: tuple[str, ...] = field(default=())

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
        return DailySeries(
            self.units, self.day(i), self.counts[:, i:], self.tz, (*self.notes, note)
        )

    def select(self, keep: npt.NDArray[np.bool_]) -> DailySeries:
        """Only the units where ``keep`` is true."""
        units = tuple(u for u, k in zip(self.units, keep, strict=True) if k)
        return DailySeries(units, self.start, self.counts[keep], self.tz, self.notes)


def local_days(epoch_s: npt.ArrayLike, tz: str) -> IntArray:
    """Local day numbers (days since 1970-01-01 in ``tz``) of UTC epoch seconds."""
    arr = pa.array(np.asarray(epoch_s, dtype=np.int64), pa.timestamp("s", tz="UTC"))
    try:
        local = pc.local_timestamp(arr.cast(pa.timestamp("s", tz=tz)))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InputError(f"unknown time zone {tz!r}") from exc
    secs = local.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray(np.floor_divide(secs, 86_400), dtype=np.int64)


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
) -> DailySeries:
    """Count events per (unit, local day); ``end`` is inclusive.

    ``days`` are local day numbers; events outside ``start .. end`` are left out.
    Units come sorted unless ``unit_order`` gives them (events of other units are
    left out then).
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
    return DailySeries(names, EPOCH + timedelta(days=d0), counts, tz, notes)
