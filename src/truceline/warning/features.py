"""Inputs of the count model, computed for every (unit, origin day) at once.

At origin ``t`` only days ``<= t`` are used. The features are log-ratios of recent
activity to the trailing 28-day mean (1, 3 and 7 days), of that mean to a longer
one (91 days), the same ratios for the whole set of units (national activity), the
level itself, and the day of week of the target day. When the series counts the
events still active at the end of each local day (``overnight``: alerts running
past midnight), two more: the origin day's overnight count as a log-ratio to its
own trailing 28-day mean, for the unit and for the whole set of units; they use
the state at the origin day's local midnight and nothing after it. Cumulative sums
make each trailing mean one vectorised subtraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError

__all__ = [
    "FEATURE_NAMES",
    "OVERNIGHT_FEATURES",
    "Features",
    "feature_names",
    "build_features",
    "ewm",
    "trailing_mean",
    "trailing_sum",
]

FloatArray = npt.NDArray[np.float64]
#: added to means before taking logs (events per day)
SMOOTH = 0.1
#: days of history an origin needs before the model uses it
MIN_HISTORY = 91

FEATURE_NAMES = (
    "const",
    "log_ratio_1d",
    "log_ratio_3d",
    "log_ratio_7d",
    "log_ratio_28_91",
    "log_ratio_ewm2",
    "log_ratio_ewm7",
    "national_ratio_1d",
    "national_ratio_7d",
    "national_ratio_ewm2",
    "log_level_28",
    *(f"dow_{i}" for i in range(1, 7)),
)
#: inputs of a series that counts the events active at each local midnight
OVERNIGHT_FEATURES = ("overnight_ratio", "national_overnight_ratio")


def trailing_sum(counts: npt.ArrayLike, window: int) -> FloatArray:
    """``out[u, t]`` = sum of ``counts[u, t-window+1 .. t]`` (shorter at the start)."""
    c = np.asarray(counts, dtype=np.float64)
    cs = np.concatenate([np.zeros((c.shape[0], 1)), np.cumsum(c, axis=1)], axis=1)
    t = np.arange(c.shape[1])
    lo = np.maximum(t + 1 - window, 0)
    return np.asarray(cs[:, t + 1] - cs[:, lo], dtype=np.float64)


def ewm(counts: npt.ArrayLike, halflife: float) -> FloatArray:
    """Exponentially weighted mean along days with the given half-life (days)."""
    from scipy.signal import lfilter

    c = np.asarray(counts, dtype=np.float64)
    a = 1.0 - 0.5 ** (1.0 / halflife)
    zi = ((1.0 - a) * c[:, :1])[:, :, None][:, 0]
    out, _ = lfilter([a], [1.0, a - 1.0], c, axis=1, zi=zi)
    return np.asarray(out, dtype=np.float64)


def trailing_mean(counts: npt.ArrayLike, window: int) -> FloatArray:
    """Trailing mean over ``window`` days (over the days available at the start)."""
    c = np.asarray(counts, dtype=np.float64)
    n = np.minimum(np.arange(c.shape[1]) + 1, window)
    return trailing_sum(c, window) / n[None, :]


def feature_names(n_units: int, horizon: int, overnight: bool = False) -> tuple[str, ...]:
    """The features the model uses: national ones with two units or more, the day of
    week for one day ahead only, the overnight ones when the series has them."""
    return tuple(
        n
        for n in (*FEATURE_NAMES, *(OVERNIGHT_FEATURES if overnight else ()))
        if (horizon == 1 or not n.startswith("dow"))
        and (n_units > 1 or not n.startswith("national"))  # one unit: the same columns
    )


@dataclass(frozen=True, slots=True)
class Features:
    """``x[u, t, k]`` for feature ``names[k]``; ``base[u, t]`` the 28-day mean."""

    names: tuple[str, ...]
    x: FloatArray
    base: FloatArray


def build_features(
    counts: npt.ArrayLike,
    first_weekday: int,
    horizon: int,
    overnight: npt.ArrayLike | None = None,
) -> Features:
    """Features of every (unit, origin); ``first_weekday`` is Monday=0 of column 0;
    ``overnight`` (the shape of ``counts``) the events active at each day's end."""
    c = np.asarray(counts, dtype=np.float64)
    n_units, n_days = c.shape
    m: dict[object, FloatArray] = {w: trailing_mean(c, w) for w in (1, 3, 7, 28, 91)}
    m["e2"], m["e7"] = ewm(c, 2.0), ewm(c, 7.0)
    nat = {w: m[w].mean(axis=0, keepdims=True) for w in (1, 7, 28, "e2")}

    def ratio(a: FloatArray, b: FloatArray) -> FloatArray:
        return np.asarray(np.log((a + SMOOTH) / (b + SMOOTH)), dtype=np.float64)

    cols = [
        np.ones((n_units, n_days)),
        ratio(m[1], m[28]),
        ratio(m[3], m[28]),
        ratio(m[7], m[28]),
        ratio(m[28], m[91]),
        ratio(m["e2"], m[28]),
        ratio(m["e7"], m[28]),
        np.broadcast_to(ratio(nat[1], nat[28]), (n_units, n_days)),
        np.broadcast_to(ratio(nat[7], nat[28]), (n_units, n_days)),
        np.broadcast_to(ratio(nat["e2"], nat[28]), (n_units, n_days)),
        np.log(m[28] + SMOOTH),
    ]
    target_dow = (first_weekday + np.arange(n_days) + horizon) % 7
    on = horizon == 1
    for d in range(1, 7):
        col = (target_dow == d).astype(np.float64) if on else np.zeros(n_days)
        cols.append(np.broadcast_to(col[None, :], (n_units, n_days)))
    every = FEATURE_NAMES
    if overnight is not None:
        o = np.asarray(overnight, dtype=np.float64)
        if o.shape != c.shape:
            raise InputError("the overnight counts do not have the shape of the counts")
        o28 = trailing_mean(o, 28)
        cols.append(ratio(o, o28))
        nat_o = ratio(o.mean(axis=0, keepdims=True), o28.mean(axis=0, keepdims=True))
        cols.append(np.broadcast_to(nat_o, (n_units, n_days)))
        every = (*FEATURE_NAMES, *OVERNIGHT_FEATURES)
    names = feature_names(n_units, horizon, overnight is not None)
    keep = [every.index(n) for n in names]
    return Features(names, np.stack([cols[i] for i in keep], axis=2), m[28])
