"""Scores of forecasts: MAE, Brier, ROC AUC, and a moving-block bootstrap over days.

CRPS lives with the distributions (:meth:`Predictive.crps`). Every function takes
NumPy arrays; the bootstrap resamples whole blocks of consecutive days so that the
days' dependence is kept in the interval.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.stats import mannwhitneyu

__all__ = ["block_bootstrap", "brier", "mae", "roc_auc"]

FloatArray = npt.NDArray[np.float64]


def mae(point: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Mean absolute error of point forecasts (the predictive median is the natural one)."""
    return float(np.mean(np.abs(np.asarray(point, float) - np.asarray(y, float))))


def brier(prob: npt.ArrayLike, outcome: npt.ArrayLike) -> float:
    """Mean squared difference between probabilities and 0/1 outcomes."""
    return float(np.mean((np.asarray(prob, float) - np.asarray(outcome, float)) ** 2))


def roc_auc(score: npt.ArrayLike, outcome: npt.ArrayLike) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties 1/2.

    NaN when only one class occurs. It is the Mann-Whitney U of the positives over
    the negatives divided by the number of pairs.
    """
    s = np.asarray(score, float)
    o = np.asarray(outcome, bool)
    pos, neg = s[o], s[~o]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    u = mannwhitneyu(pos, neg, alternative="two-sided").statistic
    return float(u) / float(pos.size * neg.size)


def block_bootstrap(
    n_days: int,
    statistic: Callable[[npt.NDArray[np.intp]], float],
    *,
    block: int = 14,
    reps: int = 400,
    seed: int = 0,
    level: float = 0.9,
) -> tuple[float, float]:
    """A ``level`` percentile interval of ``statistic(day_indices)`` over resampled days.

    Each replicate strings together random blocks of ``block`` consecutive day
    indices (moving blocks) until it has ``n_days`` of them.
    """
    if n_days <= 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    b = max(1, min(block, n_days))
    n_blocks = -(-n_days // b)
    starts = rng.integers(0, n_days - b + 1, size=(reps, n_blocks))
    idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(reps, -1)[:, :n_days]
    vals = np.array([statistic(row) for row in idx], dtype=float)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
