"""Forecast models for the total count of the next ``horizon`` days per unit.

Baselines an analyst would use: persistence (the next ``h`` days repeat the last
``h``) and the trailing 28-day mean scaled to ``h`` days, each with a Poisson and a
negative-binomial predictive distribution (the NB dispersion fitted on training
data). The count model is a negative-binomial regression (statsmodels, NB2, the
dispersion estimated jointly) of the total on the features of
:mod:`truceline.warning.features` with the trailing mean as offset.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError
from truceline.warning.features import (
    FEATURE_NAMES,
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
    """A fitted NB regression: coefficients per feature in ``columns`` and ``alpha``."""

    horizon: int
    columns: tuple[int, ...]
    params: FloatArray
    alpha: float

    @property
    def coefficients(self) -> dict[str, float]:
        return {FEATURE_NAMES[c]: float(p) for c, p in zip(self.columns, self.params, strict=True)}

    def predict(self, counts: npt.ArrayLike, first_weekday: int) -> Predictive:
        """Predictive totals at every (unit, origin) of ``counts``."""
        f = build_features(counts, first_weekday, self.horizon)
        eta = f.x[:, :, list(self.columns)] @ self.params + _offset(f.base, self.horizon)
        return Predictive.of(np.exp(np.clip(eta, -20, 20)), self.alpha)

    def contributions(self, counts: npt.ArrayLike, first_weekday: int) -> FloatArray:
        """``out[u, t, k]``: each feature's term in the log mean (what moved the forecast)."""
        f = build_features(counts, first_weekday, self.horizon)
        return np.asarray(f.x[:, :, list(self.columns)] * self.params, dtype=np.float64)


def _offset(base: FloatArray, horizon: int) -> FloatArray:
    return np.asarray(np.log(horizon * (base + SMOOTH / 28)), dtype=np.float64)


def fit_count_model(
    counts: npt.ArrayLike, first_weekday: int, horizon: int, train_end: int
) -> CountModel:
    """Fit the NB regression on origins whose target window ends by ``train_end``."""
    from statsmodels.discrete.discrete_model import NegativeBinomial
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

    c = np.asarray(counts, dtype=np.float64)
    ok = _train_mask(c.shape[1], train_end, horizon)
    if ok.sum() < 28:
        raise InputError("too little training data: the model needs 91 days of history and 28 more")
    f = build_features(c, first_weekday, horizon)
    cols = tuple(
        i
        for i, n in enumerate(FEATURE_NAMES)
        if (horizon == 1 or not n.startswith("dow"))
        and (c.shape[0] > 1 or not n.startswith("national"))  # one unit: the same columns
    )
    x = f.x[:, ok][:, :, list(cols)].reshape(-1, len(cols))
    y = future_totals(c, horizon)[:, ok].ravel()
    off = _offset(f.base[:, ok], horizon).ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", HessianInversionWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = NegativeBinomial(y, x, offset=off, loglike_method="nb2").fit(
                disp=0, maxiter=300, method="bfgs"
            )
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise InputError(f"the count model cannot be fitted to this series: {exc}") from exc
    params = np.asarray(res.params, dtype=np.float64)
    return CountModel(horizon, cols, params[:-1], float(params[-1]))
