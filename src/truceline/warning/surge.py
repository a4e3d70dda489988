"""Same-day surge detection on a live daily series.

Today's count is compared with a robust baseline of the previous ``window`` days
(the larger of their mean and median, never below ``floor`` events a day). It fires
when the count is improbable under a negative binomial around that baseline (tail
probability below ``p_max``) and exceeds the baseline by at least ``min_excess``
events, so one event after weeks of silence never fires because the mean was zero.

The defaults were chosen on the official air-raid alerts of 2022-07-01 to
2023-12-31 (before any evaluation period): the most escalations detected with
false alarms on quiet unit-days well under 1 % (docs/early-warning.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError
from truceline.warning.predictive import Predictive

__all__ = ["SurgeDetector", "SurgeResult"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SurgeResult:
    """Per (unit, day): baseline, tail probability P(Y >= count) and whether it fired."""

    baseline: FloatArray
    tail: FloatArray
    fired: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SurgeDetector:
    window: int = 28
    floor: float = 0.5
    alpha: float = 0.1
    p_max: float = 1e-2
    min_excess: float = 3.0

    def __post_init__(self) -> None:
        if self.window < 7:
            raise InputError("surge detector: window must be at least 7 days")
        if not 0 < self.p_max < 1:
            raise InputError("surge detector: p_max must lie strictly between 0 and 1")

    def baseline(self, counts: npt.ArrayLike) -> FloatArray:
        """Robust expected count per day from the ``window`` days before it."""
        from numpy.lib.stride_tricks import sliding_window_view

        c = np.asarray(counts, dtype=np.float64)
        padded = np.concatenate([np.zeros((c.shape[0], self.window)), c], axis=1)
        win = sliding_window_view(padded[:, :-1], self.window, axis=1)
        robust = np.maximum(win.mean(axis=2), np.median(win, axis=2))
        return np.asarray(np.maximum(robust, self.floor), dtype=np.float64)

    def run(self, counts: npt.ArrayLike) -> SurgeResult:
        """Score every (unit, day) of ``counts``; the first ``window`` days never fire."""
        c = np.asarray(counts, dtype=np.float64)
        base = self.baseline(c)
        tail = Predictive.of(base, self.alpha).sf(c - 1)
        fired = (tail < self.p_max) & (c >= base + self.min_excess)
        fired[:, : self.window] = False
        return SurgeResult(base, tail, fired)
