"""Rolling-origin backtest: every evaluation day is an origin, forecasts use only the
days up to it, and every fitted parameter (the count model, the baselines' NB
dispersion, the base rate of escalation) comes from training data alone.

Scores: CRPS and MAE of the ``horizon``-day total, and for escalation (the rule's
window) Brier and ROC AUC, with moving-block bootstrap intervals over days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError
from truceline.warning import models
from truceline.warning.escalation import EscalationRule
from truceline.warning.features import MIN_HISTORY
from truceline.warning.metrics import block_bootstrap, brier, mae, roc_auc
from truceline.warning.predictive import Forecast, Predictive
from truceline.warning.series import DailySeries
from truceline.warning.surge import SurgeDetector

__all__ = ["BacktestConfig", "BacktestResult", "ModelScore", "UnitScore", "run_backtest"]

FloatArray = npt.NDArray[np.float64]
MODEL = "stacked"
GLM = "nb-glm"
BASE_RATE = "base-rate"


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    train_until: date
    horizon: int = 1
    eval_until: date | None = None
    escalation: EscalationRule = field(default_factory=EscalationRule)
    detector: SurgeDetector = field(default_factory=SurgeDetector)
    reps: int = 400
    block: int = 14


@dataclass(frozen=True, slots=True)
class ModelScore:
    """One row of the metrics table; ``*_ci`` are 90 % block-bootstrap intervals."""

    model: str
    horizon: int
    crps: float
    mae: float
    brier: float
    auc: float
    unit_days: int
    base_rate: float
    crps_skill: float = float("nan")  # 1 - CRPS / CRPS of the better trailing-mean baseline
    crps_skill_ci: tuple[float, float] = (float("nan"), float("nan"))
    brier_skill: float = float("nan")  # 1 - Brier / Brier of the training base rate
    brier_skill_ci: tuple[float, float] = (float("nan"), float("nan"))
    auc_ci: tuple[float, float] = (float("nan"), float("nan"))
    units_better: float = float("nan")  # share of units where CRPS beats both trailing means


@dataclass(frozen=True, slots=True)
class UnitScore:
    unit: str
    model: str
    crps: float
    mae: float
    days: int


@dataclass(frozen=True, slots=True)
class DetectorScore:
    quiet_unit_days: int
    false_alarms: int
    episodes: int
    detected: int
    median_delay_days: float

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.quiet_unit_days if self.quiet_unit_days else float("nan")


@dataclass(frozen=True, slots=True)
class BacktestResult:
    series: DailySeries
    config: BacktestConfig
    origins: npt.NDArray[np.int64]  # column of each origin day
    scores: list[ModelScore]
    units: list[UnitScore]
    detector: DetectorScore
    observed: FloatArray  # [u, origin] the horizon total
    forecasts: dict[str, Forecast]  # model -> [u, origin]
    escalation_prob: dict[str, FloatArray]  # model -> [u, escalation origin]
    escalation_outcome: npt.NDArray[np.bool_]
    fired: npt.NDArray[np.bool_]  # detector, [u, day] over the whole series
    coefficients: dict[str, float]
    pool_weights: dict[str, float]


def _window(series: DailySeries, cfg: BacktestConfig) -> tuple[int, int]:
    te = series.index_of(cfg.train_until)
    e1 = series.n_days - 1 if cfg.eval_until is None else series.index_of(cfg.eval_until)
    e1 = min(e1, series.n_days - 1)
    if te < MIN_HISTORY + 28:
        raise InputError(f"--train-until {cfg.train_until}: too little history before it")
    if e1 - te < max(cfg.horizon, cfg.escalation.window) + 1:
        raise InputError("the evaluation period is shorter than the horizon")
    return te, e1


Forecasts = dict[str, Forecast]


def _forecasts(
    c: FloatArray, first_wd: int, h: int, te: int, night: FloatArray | None
) -> tuple[Forecasts, models.CountModel]:
    out: dict[str, Forecast] = {}
    for b in models.BASELINES:
        mu = models.baseline_mean(c, b, h)
        out[f"{b}-poisson"] = Predictive.of(mu)
        out[f"{b}-nb"] = Predictive.of(mu, models.fit_baseline_alpha(c, b, h, te))
    fitted = models.fit_count_model(c, first_wd, h, te, night)
    out[GLM] = fitted.glm(c, first_wd, night)
    out[MODEL] = fitted.predict(c, first_wd, night)
    return out, fitted


def run_backtest(series: DailySeries, cfg: BacktestConfig) -> BacktestResult:
    """Evaluate every model on the origins from ``train_until`` to ``eval_until``."""
    te, e1 = _window(series, cfg)
    c = series.counts.astype(np.float64)
    night = None if series.overnight is None else series.overnight.astype(np.float64)
    wd = series.start.weekday()
    h, rule = cfg.horizon, cfg.escalation
    origins = np.arange(te, e1 - h + 1, dtype=np.int64)
    fc, fitted = _forecasts(c, wd, h, te, night)
    fc = {k: v[:, origins] for k, v in fc.items()}
    y = models.future_totals(c, h)[:, origins]
    crps = {k: v.crps(y) for k, v in fc.items()}
    same = fc if h == rule.window else None
    probs, outcome, base_rate = _escalation(c, night, wd, rule, te, e1, same)
    scores = _scores(fc, crps, y, probs, outcome, base_rate, cfg)
    units = [
        UnitScore(
            u,
            k,
            float(crps[k][i].mean()),
            float(np.abs(fc[k].quantile(0.5)[i] - y[i]).mean()),
            y.shape[1],
        )
        for k in fc
        for i, u in enumerate(series.units)
    ]
    fired = cfg.detector.run(c).fired
    det = _detector_score(c, fired, rule, te, e1)
    return BacktestResult(
        series,
        cfg,
        origins,
        scores,
        units,
        det,
        y,
        fc,
        probs,
        outcome,
        fired,
        fitted.coefficients,
        fitted.pool_weights,
    )


def _escalation(
    c: FloatArray,
    night: FloatArray | None,
    wd: int,
    rule: EscalationRule,
    te: int,
    e1: int,
    same: Forecasts | None,
) -> tuple[dict[str, FloatArray], npt.NDArray[np.bool_], float]:
    w = rule.window
    orig = np.arange(te, e1 - w + 1, dtype=np.int64)
    fc = (
        same
        if same is not None
        else {k: v[:, orig] for k, v in _forecasts(c, wd, w, te, night)[0].items()}
    )
    if same is not None:
        fc = {k: v[:, : orig.size] for k, v in fc.items()}
    b = rule.expected(c)
    tot = models.future_totals(c, w)
    outcome = rule.outcome(tot[:, orig], b[:, orig])
    t = np.arange(c.shape[1])
    train = (t >= MIN_HISTORY - 1) & (t + w <= te)
    base_rate = float(rule.outcome(tot[:, train], b[:, train]).mean())
    probs = {k: rule.probability(v, b[:, orig]) for k, v in fc.items()}
    probs[BASE_RATE] = np.full(outcome.shape, base_rate)
    return probs, outcome, base_rate


def _scores(
    fc: Forecasts,
    crps: dict[str, FloatArray],
    y: FloatArray,
    probs: dict[str, FloatArray],
    outcome: npt.NDArray[np.bool_],
    base_rate: float,
    cfg: BacktestConfig,
) -> list[ModelScore]:
    n_days, n_esc = y.shape[1], outcome.shape[1]
    trail = [k for k in crps if k.startswith("trailing28")]

    def skill(k: str) -> tuple[float, tuple[float, float]]:
        def stat(ix: npt.NDArray[np.intp]) -> float:
            best = min(float(crps[b][:, ix].mean()) for b in trail)
            return 1.0 - float(crps[k][:, ix].mean()) / best

        return stat(np.arange(n_days)), block_bootstrap(
            n_days, stat, block=cfg.block, reps=cfg.reps
        )

    def bskill(k: str) -> tuple[float, tuple[float, float]]:
        def stat(ix: npt.NDArray[np.intp]) -> float:
            ref = brier(probs[BASE_RATE][:, ix], outcome[:, ix])
            return 1.0 - brier(probs[k][:, ix], outcome[:, ix]) / ref if ref > 0 else float("nan")

        ci = block_bootstrap(n_esc, stat, block=cfg.block, reps=cfg.reps)
        return stat(np.arange(n_esc)), ci

    def auc_ci(k: str) -> tuple[float, float]:
        return block_bootstrap(
            n_esc,
            lambda ix: roc_auc(probs[k][:, ix], outcome[:, ix]),
            block=cfg.block,
            reps=cfg.reps,
        )

    per_unit_best = np.minimum.reduce([crps[b].mean(axis=1) for b in trail])
    rows = []
    for k, p in fc.items():
        s, s_ci = skill(k)
        b, b_ci = bskill(k)
        better = float((crps[k].mean(axis=1) < per_unit_best).mean())
        rows.append(
            ModelScore(
                k,
                cfg.horizon,
                float(crps[k].mean()),
                mae(p.quantile(0.5), y),
                brier(probs[k], outcome),
                roc_auc(probs[k], outcome),
                int(y.size),
                base_rate,
                s,
                s_ci,
                b,
                b_ci,
                auc_ci(k),
                better,
            )
        )
    nan = float("nan")
    rows.append(
        ModelScore(
            BASE_RATE,
            cfg.horizon,
            nan,
            nan,
            brier(probs[BASE_RATE], outcome),
            0.5,
            int(outcome.size),
            base_rate,
            brier_skill=0.0,
        )
    )
    return rows


def _detector_score(
    c: FloatArray, fired: npt.NDArray[np.bool_], rule: EscalationRule, te: int, e1: int
) -> DetectorScore:
    """False alarms on quiet unit-days of the evaluation period, delay on escalations.

    A day is quiet when no escalation (by ``rule``, as an origin) lies within 7
    days either side. An episode is a run of escalating origins; its delay is the
    days from the first escalating day (origin + 1) to the first firing, looked for
    until 7 days after the run ends.
    """
    from scipy.ndimage import binary_dilation

    tot = models.future_totals(c, rule.window)
    esc = rule.outcome(np.nan_to_num(tot, nan=-1.0), rule.expected(c))
    near = binary_dilation(esc, structure=np.ones((1, 15), bool))
    ev = np.zeros(c.shape[1], bool)
    ev[te + 1 : e1 + 1] = True
    last_known = c.shape[1] - rule.window - 1
    ev[last_known - 7 :] = False
    quiet = ~near & ev[None, :]
    delays: list[int] = []
    episodes = 0
    for u in range(c.shape[0]):
        starts = np.flatnonzero(np.diff(np.concatenate([[0], esc[u].astype(int)])) == 1)
        ends = np.flatnonzero(np.diff(np.concatenate([esc[u].astype(int), [0]])) == -1)
        for s, e in zip(starts, ends, strict=True):
            if not te <= s <= min(e1, last_known):
                continue
            episodes += 1
            hit = np.flatnonzero(fired[u, s + 1 : e + 9])
            if hit.size:
                delays.append(int(hit[0]))
    return DetectorScore(
        int(quiet.sum()),
        int((fired & quiet).sum()),
        episodes,
        len(delays),
        float(np.median(delays)) if delays else float("nan"),
    )
