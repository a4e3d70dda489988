"""Forecast models for the total count of the next ``horizon`` days per unit.

Baselines an analyst would use: persistence (the next ``h`` days repeat the last
``h``) and the trailing 28-day mean scaled to ``h`` days, each with a Poisson and a
negative-binomial predictive distribution (the NB dispersion fitted on training
data). The regression (``nb-glm``) has a negative-binomial predictive distribution:
its mean is a Poisson regression (statsmodels GLM) of the total on the features of
:mod:`truceline.warning.features` with the trailing mean as offset, pooled over
units, and its dispersion is fitted on forecasts made out of sample. The count
model's forecast (``stacked``) is a linear pool of the regression and the baselines
(:data:`POOL`), weighted to minimise the CRPS of forecasts made out of sample on
the last training blocks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError
from truceline.warning.features import (
    MIN_HISTORY,
    OVERNIGHT_FEATURES,
    SMOOTH,
    build_features,
    trailing_mean,
    trailing_sum,
)
from truceline.warning.predictive import Pool, Predictive, nb_alpha_mle, pool_weights

__all__ = [
    "BASELINES",
    "POOL",
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
#: the parts of the count model's linear pool, in the order of its weights
POOL = ("nb-glm", "trailing28-nb", "persistence-nb", "trailing28-poisson")
#: the pool weights are fitted on forecasts of the last BLOCKS blocks of BLOCK
#: training origins, each block forecast by a regression fitted before it
BLOCK = 60
BLOCKS = 4


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
    """A fitted count model: the regression's log-mean coefficient of each feature in
    ``names`` and its NB dispersion ``alpha``; the baselines' NB dispersions
    ``baseline_alpha`` (trailing mean, persistence) and the pool's ``weights`` of
    :data:`POOL`."""

    horizon: int
    names: tuple[str, ...]
    params: FloatArray
    alpha: float
    baseline_alpha: tuple[float, float]
    weights: FloatArray

    @property
    def coefficients(self) -> dict[str, float]:
        return {n: float(p) for n, p in zip(self.names, self.params, strict=True)}

    @property
    def uses_overnight(self) -> bool:
        """Whether the model was fitted with the overnight inputs (and needs them)."""
        return any(n in OVERNIGHT_FEATURES for n in self.names)

    def _x(
        self, counts: npt.ArrayLike, first_weekday: int, overnight: npt.ArrayLike | None
    ) -> tuple[FloatArray, FloatArray]:
        if self.uses_overnight and overnight is None:
            raise InputError("the model was fitted with overnight counts and needs them")
        night = overnight if self.uses_overnight else None
        f = build_features(counts, first_weekday, self.horizon, night)
        if f.names != self.names:
            raise InputError("the series does not have the units the model was fitted on")
        return f.x, f.base

    @property
    def pool_weights(self) -> dict[str, float]:
        return {n: float(w) for n, w in zip(POOL, self.weights, strict=True)}

    def glm(
        self, counts: npt.ArrayLike, first_weekday: int, overnight: npt.ArrayLike | None = None
    ) -> Predictive:
        """The regression's predictive totals at every (unit, origin) of ``counts``."""
        x, base = self._x(counts, first_weekday, overnight)
        eta = x @ self.params + _offset(base, self.horizon)
        return Predictive.of(np.exp(np.clip(eta, -20, 20)), self.alpha)

    def predict(
        self, counts: npt.ArrayLike, first_weekday: int, overnight: npt.ArrayLike | None = None
    ) -> Pool:
        """The count model's predictive totals (the pool) at every (unit, origin)."""
        trail, pers = self.baseline_alpha
        glm = self.glm(counts, first_weekday, overnight)
        return Pool.of(_pool_parts(glm, counts, self.horizon, trail, pers), self.weights)

    def contributions(
        self, counts: npt.ArrayLike, first_weekday: int, overnight: npt.ArrayLike | None = None
    ) -> FloatArray:
        """``out[u, t, k]``: each feature's term in the log mean (what moved the forecast)."""
        x, _ = self._x(counts, first_weekday, overnight)
        return np.asarray(x * self.params, dtype=np.float64)


def _pool_parts(
    glm: Predictive, counts: npt.ArrayLike, horizon: int, trail_alpha: float, pers_alpha: float
) -> tuple[Predictive, ...]:
    """The forecasts of :data:`POOL`, in its order."""
    trail = baseline_mean(counts, "trailing28", horizon)
    pers = baseline_mean(counts, "persistence", horizon)
    return (
        glm,
        Predictive.of(trail, trail_alpha),
        Predictive.of(pers, pers_alpha),
        Predictive.of(trail),
    )


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
    counts: npt.ArrayLike,
    first_weekday: int,
    horizon: int,
    train_end: int,
    overnight: npt.ArrayLike | None = None,
) -> CountModel:
    """Fit the model on origins whose target window ends by column ``train_end``;
    with ``overnight`` (the events active at each day's end) the overnight inputs
    are used too.

    The mean is a Poisson regression of the ``horizon``-day total on the features
    (the trailing 28-day mean as offset), pooled over units; its coefficients are
    consistent whatever the dispersion and however the overlapping totals depend on
    each other. The NB dispersion is then fitted, by maximum likelihood, to the
    forecasts of the last training stretch (:data:`HOLDOUT` origins at most) made by
    a regression fitted on the origins before it: the spread of forecasts made out
    of sample, not of the residuals the fit itself made small.

    The pool's weights minimise the mean CRPS of the pool on the last
    :data:`BLOCKS` blocks of :data:`BLOCK` training origins, the regression's part
    of each block forecast by a regression fitted on the origins before the block
    (fewer blocks when the history is short; with none, the holdout above).
    """
    c = np.asarray(counts, dtype=np.float64)
    ok = _train_mask(c.shape[1], train_end, horizon)
    n_train = int(ok.sum())
    if n_train < 56:
        raise InputError("too little training data: the model needs 91 days of history and 56 more")
    f = build_features(c, first_weekday, horizon, overnight)
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
    # the pool's weights, on blocks each forecast out of sample
    last = int(np.flatnonzero(ok)[-1])
    cols: list[npt.NDArray[np.intp]] = []
    mus: list[FloatArray] = []
    for b in range(BLOCKS):
        lo = last - (b + 1) * BLOCK
        before = ok & (t + horizon <= lo)
        if before.sum() < 56:
            break
        p = fit(np.broadcast_to(before, c.shape))
        cc = np.flatnonzero(ok & (t > lo) & (t <= lo + BLOCK))
        cols.append(cc)
        mus.append(np.exp(np.clip(f.x[:, cc] @ p + off[:, cc], -20, 20)))
    if not cols:
        cols, mus = [np.flatnonzero(late[0])], [mu.reshape(c.shape[0], -1)]
    oos = np.concatenate(cols)
    baseline_alpha = (
        fit_baseline_alpha(c, "trailing28", horizon, train_end),
        fit_baseline_alpha(c, "persistence", horizon, train_end),
    )
    glm_oos = Predictive.of(np.concatenate(mus, axis=1), alpha)
    glm_part, *rest = _pool_parts(glm_oos, c, horizon, *baseline_alpha)
    weights = pool_weights((glm_part, *(p[:, oos] for p in rest)), y[:, oos])
    return CountModel(horizon, f.names, params, alpha, baseline_alpha, weights)
