"""Predictive distributions of counts: Poisson and negative binomial, as arrays.

A forecast is a mean ``mu`` and a dispersion ``alpha`` per unit-day; the variance is
``mu + alpha * mu**2`` (``alpha = 0`` is Poisson). Functions take and return NumPy
arrays so a whole evaluation period is scored at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

__all__ = ["Predictive", "nb_alpha_mle"]

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
        """Continuous ranked probability score of the observed counts ``y``.

        The exact sum ``sum_k (F(k) - 1[y <= k])**2`` over ``k = 0 .. K``, with ``K``
        past both the observation and the 1 - 1e-9 quantile, so the truncated tail adds
        less than about 1e-9 per unit of support.
        """
        yy = np.asarray(y, dtype=np.float64)
        upper = np.maximum(yy, self.quantile(1 - 1e-9))
        k_max = int(np.nanmax(upper)) + 2 if upper.size else 0
        out = np.empty(yy.shape, dtype=np.float64)
        flat_y, flat_mu, flat_a = yy.ravel(), self.mu.ravel(), self.alpha.ravel()
        res = out.ravel()
        step = max(1, 2_000_000 // max(k_max + 1, 1))
        ks = np.arange(k_max + 1, dtype=np.float64)
        for s in range(0, flat_y.size, step):
            sl = slice(s, s + step)
            part = Predictive(flat_mu[sl, None], flat_a[sl, None])
            f = part.cdf(ks[None, :])
            ind = (flat_y[sl, None] <= ks[None, :]).astype(np.float64)
            res[sl] = ((f - ind) ** 2).sum(axis=1)
        return res.reshape(yy.shape)


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
