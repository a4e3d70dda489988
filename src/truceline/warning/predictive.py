"""Predictive distributions of counts: Poisson and negative binomial, as arrays.

A forecast is a mean ``mu`` and a dispersion ``alpha`` per unit-day; the variance is
``mu + alpha * mu**2`` (``alpha = 0`` is Poisson). A :class:`Pool` is a weighted
mixture (linear pool) of such forecasts, with weights chosen to minimise CRPS by
:func:`pool_weights`. Functions take and return NumPy arrays so a whole evaluation
period is scored at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = ["Forecast", "Pool", "Predictive", "nb_alpha_mle", "pool_weights"]

FloatArray = npt.NDArray[np.float64]

#: a mean is never below this (a zero mean would make every count impossible)
MIN_MEAN = 1e-3


@dataclass(frozen=True, slots=True)
class Predictive:
    """Count distributions, one per element: mean ``mu`` and NB dispersion ``alpha``."""

    mu: FloatArray
    alpha: FloatArray

    @classmethod
    def of(cls, mu: npt.ArrayLike, alpha: npt.ArrayLike = 0.0) -> Predictive:
        m = np.maximum(np.asarray(mu, dtype=np.float64), MIN_MEAN)
        a = np.broadcast_to(np.maximum(np.asarray(alpha, dtype=np.float64), 0.0), m.shape)
        return cls(m, np.array(a))

    def __getitem__(self, index: Any) -> Predictive:
        """The distributions at ``index`` (as NumPy indexes ``mu``)."""
        return Predictive(np.asarray(self.mu[index]), np.asarray(self.alpha[index]))

    def _dist(self, mu: FloatArray, alpha: FloatArray) -> tuple[FloatArray, FloatArray]:
        n = 1.0 / np.maximum(alpha, 1e-9)
        return n, n / (n + mu)

    def cdf(self, k: npt.ArrayLike) -> FloatArray:
        """P(Y <= k), broadcasting ``k`` against the distributions."""
        kk = np.asarray(k, dtype=np.float64)
        mu, alpha = np.broadcast_arrays(self.mu, self.alpha)
        pois = stats.poisson.cdf(kk, mu)
        n, p = self._dist(mu, alpha)
        nb = stats.nbinom.cdf(kk, n, p)
        return np.asarray(np.where(alpha > 1e-8, nb, pois), dtype=np.float64)

    def sf(self, k: npt.ArrayLike) -> FloatArray:
        """P(Y > k)."""
        kk = np.asarray(k, dtype=np.float64)
        mu, alpha = np.broadcast_arrays(self.mu, self.alpha)
        pois = stats.poisson.sf(kk, mu)
        n, p = self._dist(mu, alpha)
        nb = stats.nbinom.sf(kk, n, p)
        return np.asarray(np.where(alpha > 1e-8, nb, pois), dtype=np.float64)

    def quantile(self, q: float) -> FloatArray:
        """The ``q`` quantile of each distribution."""
        mu, alpha = self.mu, self.alpha
        pois = stats.poisson.ppf(q, mu)
        n, p = self._dist(mu, alpha)
        nb = stats.nbinom.ppf(q, n, p)
        return np.asarray(np.where(alpha > 1e-8, nb, pois), dtype=np.float64)

    def crps(self, y: npt.ArrayLike) -> FloatArray:
        """Continuous ranked probability score of the observed counts ``y`` (see
        :func:`_crps`)."""
        return _crps(self, y)


@dataclass(frozen=True, slots=True)
class Pool:
    """A linear pool: each element's distribution is ``sum_j weights[j] * parts[j]``.

    The parts have one shape; the weights are non-negative and sum to 1.
    """

    parts: tuple[Predictive, ...]
    weights: FloatArray

    @classmethod
    def of(cls, parts: tuple[Predictive, ...], weights: npt.ArrayLike) -> Pool:
        w = np.asarray(weights, dtype=np.float64)
        if len(parts) == 0 or w.shape != (len(parts),) or np.any(w < 0):
            raise ValueError("a pool needs one non-negative weight per part")
        return cls(parts, w / w.sum())

    @property
    def mu(self) -> FloatArray:
        """The mean of each mixture."""
        return np.asarray(sum(w * p.mu for w, p in zip(self.weights, self.parts, strict=True)))

    def __getitem__(self, index: Any) -> Pool:
        return Pool(tuple(p[index] for p in self.parts), self.weights)

    def _used(self) -> list[tuple[float, Predictive]]:
        return [(float(w), p) for w, p in zip(self.weights, self.parts, strict=True) if w > 0]

    def cdf(self, k: npt.ArrayLike) -> FloatArray:
        """P(Y <= k), broadcasting ``k`` against the distributions."""
        return np.asarray(sum(w * p.cdf(k) for w, p in self._used()), dtype=np.float64)

    def sf(self, k: npt.ArrayLike) -> FloatArray:
        """P(Y > k)."""
        return np.asarray(sum(w * p.sf(k) for w, p in self._used()), dtype=np.float64)

    def quantile(self, q: float) -> FloatArray:
        """The ``q`` quantile of each mixture: the least ``k`` with ``cdf(k) >= q``,
        found by bisection between the parts' own quantiles (which bracket it)."""
        qs = np.stack([p.quantile(q) for _, p in self._used()])
        lo, hi = qs.min(axis=0), qs.max(axis=0)
        while np.any(lo < hi):
            mid = np.floor((lo + hi) / 2)
            below = self.cdf(mid) < q
            lo = np.where(below, mid + 1, lo)
            hi = np.where(below, hi, mid)
        return np.asarray(lo, dtype=np.float64)

    def crps(self, y: npt.ArrayLike) -> FloatArray:
        """Continuous ranked probability score of the observed counts ``y``."""
        return _crps(self, y)


Forecast = Predictive | Pool


def _flat(f: Forecast) -> Forecast:
    """``f`` with its elements in one column, ready to broadcast against a support."""
    if isinstance(f, Pool):
        return Pool(
            tuple(Predictive(p.mu.reshape(-1, 1), p.alpha.reshape(-1, 1)) for p in f.parts),
            f.weights,
        )
    return Predictive(f.mu.reshape(-1, 1), f.alpha.reshape(-1, 1))


def _crps(f: Forecast, y: npt.ArrayLike) -> FloatArray:
    """The exact sum ``sum_k (F(k) - 1[y <= k])**2`` over ``k = 0 .. K``, with ``K``
    past both the observation and the 1 - 1e-9 quantile, so the truncated tail adds
    less than about 1e-9 per unit of support."""
    yy = np.asarray(y, dtype=np.float64)
    flat, fy = _flat(f), yy.ravel()
    upper = np.maximum(fy, flat.quantile(1 - 1e-9).ravel())
    k_max = int(np.nanmax(upper)) + 2 if upper.size else 0
    ks = np.arange(k_max + 1, dtype=np.float64)
    res = np.empty(fy.shape, dtype=np.float64)
    step = max(1, 2_000_000 // (k_max + 1))
    for s in range(0, fy.size, step):
        sl = slice(s, s + step)
        d = flat[sl].cdf(ks[None, :]) - (fy[sl, None] <= ks[None, :])
        res[sl] = (d**2).sum(axis=1)
    return res.reshape(yy.shape)


def pool_weights(parts: tuple[Predictive, ...], y: npt.ArrayLike) -> FloatArray:
    """The weights (non-negative, summing to 1) of the pool of ``parts`` with the least
    mean CRPS on observations ``y`` (NaN observations left out).

    The pool's CRPS is a quadratic form in the weights, ``w' A w`` with
    ``A[i, j] = mean sum_k (F_i(k) - 1[y <= k]) (F_j(k) - 1[y <= k])``, so ``A`` is
    accumulated once and the weights found by quadratic programming (SLSQP).
    """
    from scipy.optimize import minimize

    yy = np.asarray(y, dtype=np.float64).ravel()
    ok = np.flatnonzero(np.isfinite(yy))
    flat = [Predictive(p.mu.ravel()[ok, None], p.alpha.ravel()[ok, None]) for p in parts]
    yy = yy[ok]
    n = len(parts)
    if yy.size == 0:
        return np.full(n, 1.0 / n)
    k_max = int(max(np.max(yy), *(float(np.max(p.quantile(1 - 1e-9))) for p in flat))) + 2
    ks = np.arange(k_max + 1, dtype=np.float64)
    a = np.zeros((n, n))
    step = max(1, 500_000 // (k_max + 1))
    for s in range(0, yy.size, step):
        sl = slice(s, s + step)
        ind = yy[sl, None] <= ks[None, :]
        d = np.stack([p[sl].cdf(ks[None, :]) for p in flat]) - ind[None]
        a += np.einsum("ixk,jxk->ij", d, d)
    a /= yy.size
    res = minimize(
        lambda w: float(w @ a @ w),
        np.full(n, 1.0 / n),
        jac=lambda w: 2 * a @ w,
        bounds=[(0.0, 1.0)] * n,
        constraints=({"type": "eq", "fun": lambda w: float(w.sum() - 1.0)},),
        method="SLSQP",
    )
    w = np.clip(np.asarray(res.x, dtype=np.float64), 0.0, None)
    return np.asarray(w / w.sum(), dtype=np.float64)


def nb_alpha_mle(y: npt.ArrayLike, mu: npt.ArrayLike) -> float:
    """The NB dispersion that maximises the likelihood of ``y`` given means ``mu``."""
    from scipy.optimize import minimize_scalar

    yy = np.asarray(y, dtype=np.float64).ravel()
    mm = np.maximum(np.asarray(mu, dtype=np.float64).ravel(), MIN_MEAN)
    ok = np.isfinite(yy) & np.isfinite(mm)
    yy, mm = yy[ok], mm[ok]

    def nll(log_alpha: float) -> float:
        a = float(np.exp(log_alpha))
        n = 1.0 / a
        return -float(stats.nbinom.logpmf(yy, n, n / (n + mm)).sum())

    res = minimize_scalar(nll, bounds=(np.log(1e-4), np.log(50.0)), method="bounded")
    return float(np.exp(res.x))
