"""Forecast models for the total count of the next ``horizon`` days per unit.

Baselines an analyst would use: persistence (the next ``h`` days repeat the last
``h``) and the trailing 28-day mean scaled to ``h`` days, each with a Poisson and a
negative-binomial predictive distribution (the NB dispersion fitted on training
data). The count model has a negative-binomial predictive distribution: its mean
is a Poisson regression (statsmodels GLM) of the total on the features of
:mod:`truceline.warning.features` with the trailing mean as offset, pooled over
units, and its dispersion is fitted on forecasts made out of sample.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError
from truceline.warning.features import (
    MIN_HISTORY,
    SMOOTH,
    build_features,
    trailing_mean,
    trailing_sum,
)
from truceline.warning.predictive import Predictive, nb_alpha_mle

__all__ = [
    "BASELINES",
    "CountModel",
    "baseline_mean",
    "fit_baseline_alpha",
    "fit_count_model",
    "future_totals",
]

FloatArray = npt.NDArray[np.float64]
#: most training origins at the end of training held out to fit the NB dispersion
HOLDOUT = 120
BASELINES = ("persistence", "trailing28")


def future_totals(counts: npt.ArrayLike, horizon: int) -> FloatArray:
    """``out[u, t]`` = total of days ``t+1 .. t+horizon`` (NaN past the end)."""
    c = np.asarray(counts, dtype=np.float64)
    s = trailing_sum(c, horizon)
    out = np.full(c.shape, np.nan)
    out[:, : c.shape[1] - horizon] = s[:, horizon:]
    return out


def baseline_mean(counts: npt.ArrayLike, kind: str, horizon: int) -> FloatArray:
    """The baseline's expected total of the next ``horizon`` days at every origin."""
    if kind == "persistence":
        return trailing_sum(counts, horizon)
    if kind == "trailing28":
        return trailing_mean(counts, 28) * horizon
    raise InputError(f"unknown baseline {kind!r}")


def _train_mask(n_days: int, train_end: int, horizon: int) -> npt.NDArray[np.bool_]:
    """Origins whose target window ends on or before column ``train_end``."""
    t = np.arange(n_days)
    return (t >= MIN_HISTORY - 1) & (t + horizon <= train_end)


def fit_baseline_alpha(counts: npt.ArrayLike, kind: str, horizon: int, train_end: int) -> float:
    """NB dispersion of a baseline, by maximum likelihood on the training origins."""
    c = np.asarray(counts, dtype=np.float64)
    ok = _train_mask(c.shape[1], train_end, horizon)
    y = future_totals(c, horizon)[:, ok]
    mu = baseline_mean(c, kind, horizon)[:, ok]
    return nb_alpha_mle(y, np.maximum(mu, 0.1 * horizon / 28))


@dataclass(frozen=True, slots=True)
class CountModel:
    """A fitted count model: the log-mean coefficient of each feature in ``names`` and
    the NB dispersion ``alpha``."""

    horizon: int
    names: tuple[str, ...]
    params: FloatArray
    alpha: float

    @property
    def coefficients(self) -> dict[str, float]:
        return {n: float(p) for n, p in zip(self.names, self.params, strict=True)}

    def _x(self, counts: npt.ArrayLike, first_weekday: int) -> tuple[FloatArray, FloatArray]:
        f = build_features(counts, first_weekday, self.horizon)
        if f.names != self.names:
            raise InputError("the series does not have the units the model was fitted on")
        return f.x, f.base

    def predict(self, counts: npt.ArrayLike, first_weekday: int) -> Predictive:
        """Predictive totals at every (unit, origin) of ``counts``."""
        x, base = self._x(counts, first_weekday)
        eta = x @ self.params + _offset(base, self.horizon)
        return Predictive.of(np.exp(np.clip(eta, -20, 20)), self.alpha)

    def contributions(self, counts: npt.ArrayLike, first_weekday: int) -> FloatArray:
        """``out[u, t, k]``: each feature's term in the log mean (what moved the forecast)."""
        x, _ = self._x(counts, first_weekday)
        return np.asarray(x * self.params, dtype=np.float64)


def _offset(base: FloatArray, horizon: int) -> FloatArray:
    return np.asarray(np.log(horizon * (base + SMOOTH / 28)), dtype=np.float64)


def _poisson_glm(x: FloatArray, y: FloatArray, offset: FloatArray) -> FloatArray:
    """Log-mean coefficients of a Poisson regression (IRLS) with ``offset``."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        DomainWarning,
        PerfectSeparationWarning,
    )

    with warnings.catch_warnings():
        for w in (ConvergenceWarning, DomainWarning, PerfectSeparationWarning, RuntimeWarning):
            warnings.simplefilter("ignore", w)
        try:
            res = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit(maxiter=100)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise InputError(f"the count model cannot be fitted to this series: {exc}") from exc
    params = np.asarray(res.params, dtype=np.float64)
    if not np.all(np.isfinite(params)):
        raise InputError("the count model cannot be fitted to this series (no finite fit)")
    return params


def fit_count_model(
    counts: npt.ArrayLike, first_weekday: int, horizon: int, train_end: int
) -> CountModel:
    """Fit the model on origins whose target window ends by column ``train_end``.

    The mean is a Poisson regression of the ``horizon``-day total on the features
    (the trailing 28-day mean as offset), pooled over units; its coefficients are
    consistent whatever the dispersion and however the overlapping totals depend on
    each other. The NB dispersion is then fitted, by maximum likelihood, to the
    forecasts of the last training stretch (:data:`HOLDOUT` origins at most) made by
    a regression fitted on the origins before it: the spread of forecasts made out
    of sample, not of the residuals the fit itself made small.
    """
    c = np.asarray(counts, dtype=np.float64)
    ok = _train_mask(c.shape[1], train_end, horizon)
    n_train = int(ok.sum())
    if n_train < 56:
        raise InputError("too little training data: the model needs 91 days of history and 56 more")
    f = build_features(c, first_weekday, horizon)
    y = future_totals(c, horizon)
    off = _offset(f.base, horizon)

    def fit(mask: npt.NDArray[np.bool_]) -> FloatArray:
        return _poisson_glm(f.x[mask], y[mask], off[mask])

    params = fit(np.broadcast_to(ok, c.shape))
    # the dispersion, out of sample: fit before the holdout, forecast the holdout
    t = np.arange(c.shape[1])
    hold = min(HOLDOUT, n_train // 3)
    cut = int(np.flatnonzero(ok)[-1]) - hold
    early = np.broadcast_to(ok & (t + horizon <= cut), c.shape)
    late = np.broadcast_to(ok & (t > cut), c.shape)
    early_params = fit(early)
    mu = np.exp(np.clip(f.x[late] @ early_params + off[late], -20, 20))
    alpha = nb_alpha_mle(y[late], mu)
    return CountModel(horizon, f.names, params, alpha)
