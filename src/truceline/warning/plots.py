"""Backtest charts as PNG bytes: forecast against actual per unit with the 90 %
predictive interval, the reliability diagram of escalation probabilities, and the
surge detector's firings on the series. Matplotlib (Agg) is imported when a chart
is drawn, not when the package is imported.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from truceline.warning.backtest import BASE_RATE, MODEL, BacktestResult

__all__ = ["detector_png", "forecast_png", "reliability_png"]

#: the best of the baselines drawn beside the model
BASELINE = "trailing28-nb"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    _pyplot().close(fig)
    return buf.getvalue()


def _grid(n: int) -> tuple[Any, Any]:
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = _pyplot().subplots(rows, cols, figsize=(4 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def forecast_png(r: BacktestResult) -> bytes:
    """Per unit: the observed totals, the model's mean and 90 % interval, the baseline."""
    s = r.series
    days = np.array([s.day(int(t) + 1) for t in r.origins], dtype="datetime64[D]")
    m, b = r.forecasts[MODEL], r.forecasts[BASELINE]
    lo, hi = m.quantile(0.05), m.quantile(0.95)
    fig, axes = _grid(len(s.units))
    for i, (ax, unit) in enumerate(zip(axes, s.units, strict=False)):
        ax.fill_between(days, lo[i], hi[i], color="tab:blue", alpha=0.2, lw=0, label="90 %")
        ax.plot(days, m.mu[i], color="tab:blue", lw=1, label="model")
        ax.plot(days, b.mu[i], color="tab:gray", lw=1, ls="--", label="28-day mean")
        ax.plot(days, r.observed[i], color="black", lw=0.8, marker=".", ms=2, label="observed")
        ax.set_title(unit, fontsize=8)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6)
    fig.suptitle(f"{r.config.horizon}-day totals from each origin")
    fig.tight_layout()
    return _png(fig)


def reliability_png(r: BacktestResult, bins: int = 10) -> bytes:
    """Observed frequency of escalation against forecast probability, per model."""
    fig, ax = _pyplot().subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="gray", lw=0.8)
    edges = np.linspace(0, 1, bins + 1)
    o = r.escalation_outcome.ravel()
    for name, p in r.escalation_prob.items():
        if name == BASE_RATE or name.startswith("persistence"):
            continue
        pp = p.ravel()
        k = np.clip(np.digitize(pp, edges) - 1, 0, bins - 1)
        n = np.bincount(k, minlength=bins)
        ok = n > 0
        mean_p = np.bincount(k, weights=pp, minlength=bins)[ok] / n[ok]
        freq = np.bincount(k, weights=o, minlength=bins)[ok] / n[ok]
        ax.plot(mean_p, freq, marker="o", label=name)
    ax.set_xlabel("forecast probability of escalation")
    ax.set_ylabel("observed frequency")
    ax.legend(fontsize=7)
    return _png(fig)


def detector_png(r: BacktestResult) -> bytes:
    """Each unit's daily series over the evaluation period with the detector's firings."""
    s = r.series
    t0 = int(r.origins[0])
    cols = np.arange(t0, s.n_days)
    days = np.array([s.day(int(t)) for t in cols], dtype="datetime64[D]")
    fig, axes = _grid(len(s.units))
    for i, (ax, unit) in enumerate(zip(axes, s.units, strict=False)):
        y = s.counts[i, cols]
        f = r.fired[i, cols]
        ax.plot(days, y, color="black", lw=0.7)
        ax.scatter(days[f], y[f], color="tab:red", s=12, zorder=3)
        ax.set_title(unit, fontsize=8)
        ax.tick_params(labelsize=6)
    fig.suptitle("daily counts; red: surge detector fired")
    fig.tight_layout()
    return _png(fig)
