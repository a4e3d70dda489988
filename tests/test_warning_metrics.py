"""Scores and distributions against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from truceline.warning.metrics import block_bootstrap, brier, mae, roc_auc
from truceline.warning.predictive import Pool, Predictive, nb_alpha_mle, pool_weights


def _poisson_crps_closed_form(lam: float, y: int) -> float:
    """Wei & Held (2014): (y - l)(2F(y) - 1) + 2 l f(y) - l e^{-2l} (I0(2l) + I1(2l))."""
    f, p = stats.poisson.cdf(y, lam), stats.poisson.pmf(y, lam)
    return float(
        (y - lam) * (2 * f - 1)
        + 2 * lam * p
        - lam * math.exp(-2 * lam) * (special.i0(2 * lam) + special.i1(2 * lam))
    )


@pytest.mark.parametrize(("lam", "y"), [(1.0, 0), (1.0, 3), (4.5, 2), (20.0, 31)])
def test_poisson_crps_matches_closed_form(lam: float, y: int) -> None:
    got = Predictive.of([lam]).crps([y])[0]
    assert got == pytest.approx(_poisson_crps_closed_form(lam, y), abs=1e-7)


def test_nb_crps_of_a_geometric_by_hand() -> None:
    # mean 1, alpha 1: geometric with p = 1/2, F(k) = 1 - 2^-(k+1)
    # y = 0: sum_k 4^-(k+1) = 1/3; y = 2: 1/4 + 9/16 + sum_{k>=2} 4^-(k+1) = 0.8125 + 1/48
    got = Predictive.of([1.0, 1.0], 1.0).crps([0, 2])
    assert got == pytest.approx([1 / 3, 0.8125 + 1 / 48], abs=1e-8)


def test_nb_tends_to_poisson_and_is_wider() -> None:
    p, nb = Predictive.of([3.0]), Predictive.of([3.0], 0.5)
    assert p.sf([8])[0] == pytest.approx(stats.poisson.sf(8, 3.0))
    assert nb.sf([8])[0] > p.sf([8])[0]
    assert Predictive.of([3.0], 1e-12).cdf([2])[0] == pytest.approx(stats.poisson.cdf(2, 3.0))


def test_nb_alpha_mle_recovers_the_dispersion() -> None:
    rng = np.random.default_rng(5)
    mu = rng.uniform(2, 10, 20_000)
    n = 1 / 0.4
    y = rng.negative_binomial(n, n / (n + mu))
    assert nb_alpha_mle(y, mu) == pytest.approx(0.4, rel=0.08)


def test_brier_mae_auc_by_hand() -> None:
    assert brier([0.9, 0.2], [1, 0]) == pytest.approx((0.01 + 0.04) / 2)
    assert mae([1, 4], [2, 2]) == pytest.approx(1.5)
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert roc_auc([0.5, 0.5], [0, 1]) == pytest.approx(0.5)
    assert math.isnan(roc_auc([0.1, 0.2], [0, 0]))


def test_block_bootstrap_interval_covers_the_mean_and_keeps_blocks() -> None:
    x = np.random.default_rng(1).normal(10, 1, 300)
    lo, hi = block_bootstrap(300, lambda ix: float(x[ix].mean()), block=10, reps=300)
    assert lo < x.mean() < hi and hi - lo < 0.5
    const = block_bootstrap(50, lambda ix: 3.0, reps=20)
    assert const == (3.0, 3.0)


def _kernel_crps(pmf: np.ndarray, y: int) -> float:
    """CRPS = E|X - y| - E|X - X'| / 2, enumerated over the support of ``pmf``."""
    k = np.arange(pmf.size)
    return float(pmf @ np.abs(k - y) - 0.5 * pmf @ np.abs(k[:, None] - k[None, :]) @ pmf)


def test_pool_cdf_crps_and_quantile_against_its_mixture_pmf() -> None:
    parts = (Predictive.of([1.0, 1.0]), Predictive.of([9.0, 9.0], 0.5))
    pool = Pool.of(parts, [0.3, 0.7])
    k = np.arange(400)
    pmf = 0.3 * stats.poisson.pmf(k, 1.0) + 0.7 * stats.nbinom.pmf(k, 2.0, 2.0 / 11.0)
    assert pool.cdf([[4], [4]])[:, 0] == pytest.approx([pmf[:5].sum()] * 2)
    assert pool.mu == pytest.approx([0.3 + 6.3] * 2)
    assert pool.crps([0, 12]) == pytest.approx(
        [_kernel_crps(pmf, 0), _kernel_crps(pmf, 12)], abs=1e-7
    )
    for q in (0.05, 0.3, 0.5, 0.95):
        assert pool.quantile(q)[0] == np.flatnonzero(np.cumsum(pmf) >= q)[0]
    assert pool[1:].crps([12])[0] == pytest.approx(_kernel_crps(pmf, 12), abs=1e-7)


def test_pool_weights_minimise_crps() -> None:
    rng = np.random.default_rng(2)
    y = rng.poisson(5.0, 4000)
    near, far = Predictive.of(np.full(4000, 5.0)), Predictive.of(np.full(4000, 15.0))
    assert pool_weights((near, far), y)[0] > 0.97
    # half the days from each: the pool of both beats either alone, weights near 1/2
    y2 = np.where(np.arange(4000) % 2 == 0, rng.poisson(2.0, 4000), rng.poisson(20.0, 4000))
    lo, hi = Predictive.of(np.full(4000, 2.0)), Predictive.of(np.full(4000, 20.0))
    w = pool_weights((lo, hi), y2)
    assert w == pytest.approx([0.5, 0.5], abs=0.08)
    pooled = Pool.of((lo, hi), w).crps(y2).mean()
    assert pooled < min(lo.crps(y2).mean(), hi.crps(y2).mean())
    grid = [Pool.of((lo, hi), [a, 1 - a]).crps(y2).mean() for a in (0.3, 0.4, 0.6, 0.7)]
    assert pooled <= min(grid)
