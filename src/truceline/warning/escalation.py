"""Escalation: the definition (from configuration) and its probability per unit.

Default: the total of the next 7 days exceeds 1.5 times the trailing 28-day mean
scaled to 7 days, and exceeds that scaled mean by at least 5 events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError
from truceline.warning.features import trailing_mean
from truceline.warning.predictive import Forecast

__all__ = ["EscalationRule"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EscalationRule:
    """The next ``window`` days' total is above ``ratio`` x and ``min_excess`` over the
    trailing ``baseline_days`` mean scaled to ``window`` days."""

    window: int = 7
    ratio: float = 1.5
    min_excess: float = 5.0
    baseline_days: int = 28

    def __post_init__(self) -> None:
        if self.window < 1 or self.baseline_days < 1:
            raise InputError("escalation: window and baseline_days must be at least 1 day")
        if self.ratio < 1.0 or self.min_excess < 0:
            raise InputError("escalation: ratio must be >= 1 and min_excess >= 0")

    def expected(self, counts: npt.ArrayLike) -> FloatArray:
        """The scaled baseline ``B[u, t]`` at every origin."""
        return np.asarray(trailing_mean(counts, self.baseline_days) * self.window, np.float64)

    def least_count(self, expected: npt.ArrayLike) -> FloatArray:
        """The smallest whole total that counts as escalation given baseline ``B``."""
        b = np.asarray(expected, dtype=np.float64)
        least = np.maximum(np.floor(self.ratio * b) + 1, np.ceil(b + self.min_excess))
        return np.asarray(least, dtype=np.float64)

    def outcome(self, totals: npt.ArrayLike, expected: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether each observed total is an escalation."""
        return np.asarray(np.asarray(totals, float) >= self.least_count(expected), dtype=bool)

    def probability(self, forecast: Forecast, expected: npt.ArrayLike) -> FloatArray:
        """P(escalation) under a predictive distribution of the window's total."""
        return forecast.sf(self.least_count(expected) - 1)
