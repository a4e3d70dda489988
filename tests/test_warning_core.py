"""Series, features, escalation, the count model and the surge detector."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from truceline.domain.errors import InputError
from truceline.warning.backtest import BacktestConfig, run_backtest
from truceline.warning.escalation import EscalationRule
from truceline.warning.features import trailing_mean, trailing_sum
from truceline.warning.models import baseline_mean, fit_count_model, future_totals
from truceline.warning.readers import read_counts_table
from truceline.warning.series import DailySeries, from_events, local_days
from truceline.warning.surge import SurgeDetector


def _ts(text: str) -> int:
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp())


def test_local_days_follow_the_zone_and_its_summer_time() -> None:
    # 22:30 UTC on 30 March 2024 is 00:30 on the 31st in Kyiv (UTC+2, DST starts 03:00)
    d = local_days(
        [_ts("2024-03-30T22:30:00+00:00"), _ts("2024-03-31T20:59:00+00:00")], "Europe/Kyiv"
    )
    assert [date(1970, 1, 1).toordinal() + int(x) for x in d] == [
        date(2024, 3, 31).toordinal(),
        date(2024, 3, 31).toordinal(),
    ]
    with pytest.raises(InputError, match="time zone"):
        local_days([0], "Mars/Olympus")


def test_from_events_counts_per_unit_and_day() -> None:
    s = from_events(["b", "a", "a", "b", "c"], [3, 1, 1, 2, 9], tz="UTC", end=date(1970, 1, 5))
    assert s.units == ("a", "b", "c") and s.start == date(1970, 1, 2)
    assert s.counts.tolist() == [[2, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    assert s.weekly().counts.shape == (3, 0)


def test_counts_table_spreads_a_weekend_period(tmp_path: Path) -> None:
    f = tmp_path / "counts.csv"
    f.write_text(
        "date,region,count,period_start,period_end\n"
        "2024-01-08,North,10,2024-01-05T18:00:00+02:00,2024-01-08T18:00:00+02:00\n"
        "2024-01-09,North,4,2024-01-09T00:00:00+02:00,2024-01-10T00:00:00+02:00\n"
    )
    s = read_counts_table(f)
    assert s.start == date(2024, 1, 5)
    assert s.counts.tolist() == [[3, 3, 2, 2, 4]]
    assert "1 multi-day period(s) spread" in s.notes[0]
    with pytest.raises(InputError) as err:
        read_counts_table(f, spread=False)
    assert err.value.errors[0].line == 2


def test_counts_table_refuses_a_negative_count(tmp_path: Path) -> None:
    f = tmp_path / "counts.csv"
    f.write_text("date,region,count\n2024-01-08,North,3\n2024-01-09,North,-1\n")
    with pytest.raises(InputError) as err:
        read_counts_table(f)
    assert (err.value.errors[0].line, err.value.errors[0].field) == (3, "count")


def test_trailing_sums_means_and_future_totals() -> None:
    c = np.array([[1, 2, 3, 4]])
    assert trailing_sum(c, 2).tolist() == [[1, 3, 5, 7]]
    assert trailing_mean(c, 3).tolist() == [[1, 1.5, 2, 3]]
    ft = future_totals(c, 2)
    assert ft[0, :2].tolist() == [5, 7] and np.isnan(ft[0, 2:]).all()
    assert baseline_mean(c, "persistence", 1).tolist() == [[1, 2, 3, 4]]


def test_escalation_threshold_by_hand() -> None:
    rule = EscalationRule()
    # B = 10: above 15 and at least 15 -> 16; B = 2: above 3 and at least 7 -> 7
    assert rule.least_count([10.0, 2.0]).tolist() == [16, 7]
    assert rule.outcome([16, 15, 7, 6], [10, 10, 2, 2]).tolist() == [True, False, True, False]
    with pytest.raises(InputError):
        EscalationRule(ratio=0.5)


def _poisson(rate: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rate).astype(np.int64)


def test_surge_fires_same_day_on_a_surge_only() -> None:
    c = _poisson(np.full((3, 80), 3.0), 2)
    c[1, :] = 0
    c[1, 70] = 1  # one event after weeks of silence
    c[2, 75] = 30  # a surge
    res = SurgeDetector().run(c)
    assert res.fired[2, 75]
    assert res.fired.sum() == 1


def test_count_model_follows_a_rise_the_trailing_mean_misses() -> None:
    rate = np.full((12, 400), 4.0)
    rate[:, 200:] = np.where(np.arange(200) % 60 < 10, 12.0, 4.0)  # recurring bursts
    c = _poisson(rate, 3)
    m = fit_count_model(c, 0, 1, 399)
    p = m.glm(c, 0)
    burst_day = 200 + 60 * 3 + 5  # mid-burst: the last days were high
    assert p.mu[:, burst_day].mean() > 1.3 * trailing_mean(c, 28)[:, burst_day].mean()
    assert m.coefficients["log_ratio_ewm2"] + m.coefficients["log_ratio_1d"] > 0
    # the pool leans on the regression, which sees the bursts the baselines miss
    w = m.pool_weights
    assert w["nb-glm"] == max(w.values()) and sum(w.values()) == pytest.approx(1.0)
    pool = m.predict(c, 0)
    assert pool.mu[:, burst_day].mean() > trailing_mean(c, 28)[:, burst_day].mean()


def test_backtest_fits_nothing_on_the_evaluation_period() -> None:
    c = _poisson(np.full((6, 300), 5.0), 4)
    s = DailySeries(tuple("abcdef"), date(2023, 1, 1), c, "UTC")
    cfg = BacktestConfig(date(2023, 9, 1), horizon=7, reps=20)
    first = run_backtest(s, cfg)
    c2 = c.copy()
    c2[:, s.index_of(date(2023, 9, 2)) :] *= 3
    second = run_backtest(DailySeries(s.units, s.start, c2, "UTC"), cfg)
    assert first.coefficients == second.coefficients
    assert first.pool_weights == second.pool_weights
    models = [r.model for r in first.scores]
    assert models[:4] == [
        "persistence-poisson",
        "persistence-nb",
        "trailing28-poisson",
        "trailing28-nb",
    ]
    assert {"nb-glm", "stacked", "base-rate"} <= set(models)
    assert first.scores[0].unit_days == 6 * first.origins.size
    with pytest.raises(InputError, match="history"):
        run_backtest(s, BacktestConfig(date(2023, 2, 1)))


def test_count_model_fits_one_unit_without_the_national_copies() -> None:
    c = _poisson(np.full((1, 300), 4.0), 9)
    m = fit_count_model(c, 0, 7, 299)
    assert not any(k.startswith("national") for k in m.coefficients)
    assert 20 < m.predict(c, 0).mu[0, -1] < 36


def test_series_since_cuts_the_start() -> None:
    s = DailySeries(("a",), date(2024, 1, 1), np.arange(10, dtype=np.int64)[None, :], "UTC")
    cut = s.since(date(2024, 1, 4))
    assert cut.start == date(2024, 1, 4) and cut.counts.tolist() == [[3, 4, 5, 6, 7, 8, 9]]
    assert s.since(date(2023, 1, 1)).n_days == 10


def test_seven_day_dispersion_is_fitted_not_collapsed_to_poisson() -> None:
    # a weekly level the trailing mean cannot know: 7-day totals are overdispersed
    rng = np.random.default_rng(5)
    level = np.repeat(rng.gamma(4.0, 0.25, size=(8, 60)), 7, axis=1)
    c = rng.poisson(5.0 * level)
    m = fit_count_model(c, 0, 7, 399)
    assert 0.08 < m.alpha < 0.5
    assert fit_count_model(c, 0, 1, 399).alpha < m.alpha  # days vary less than weeks


def test_overnight_counts_the_alerts_active_at_local_midnight(tmp_path: Path) -> None:
    from truceline.warning.readers import read_air_raid

    # Kyiv is UTC+2 until 03:00 on 31 March 2024: local midnight 30/31 is 22:00 UTC
    rows = [
        ("A", "2024-03-30 21:50:00+00:00", "2024-03-30 22:10:00+00:00"),  # over midnight
        ("A", "2024-03-30 21:00:00+00:00", "2024-03-30 22:00:00+00:00"),  # ends at midnight
        ("A", "2024-03-29 10:00:00+00:00", "2024-03-31 01:00:00+00:00"),  # two midnights
        ("B", "2024-03-30 23:30:00+00:00", "2024-03-31 02:00:00+00:00"),  # all on the 31st
        ("C", "2024-03-29 12:00:00+00:00", ""),  # no end: active to the end of the file
    ]
    f = tmp_path / "alerts.csv"
    f.write_text("region,started_at,finished_at\n" + "".join(f"{u},{a},{b}\n" for u, a, b in rows))
    s = read_air_raid(f, min_starts=1)
    assert s.start == date(2024, 3, 29)
    assert s.counts.tolist() == [[1, 2, 0], [0, 0, 1], [1, 0, 0]]
    assert s.overnight is not None
    assert s.overnight.tolist() == [[1, 2, 0], [0, 0, 0], [1, 1, 1]]
    assert "alerts active at local midnight (1 with no end" in s.notes[-1]
    # a file without end times has no overnight counts, and says so
    g = tmp_path / "starts.csv"
    g.write_text("region,started_at\n" + "".join(f"{u},{a}\n" for u, a, _ in rows))
    bare = read_air_raid(g, min_starts=1)
    assert bare.overnight is None and "no overnight counts" in bare.notes[-1]


def test_overnight_inputs_use_nothing_after_the_origin_day() -> None:
    from truceline.warning.features import OVERNIGHT_FEATURES, build_features

    c = _poisson(np.full((3, 200), 4.0), 11)
    night = _poisson(np.full((3, 200), 1.0), 12)
    t = 150
    f = build_features(c, 0, 1, night)
    assert f.names[-2:] == OVERNIGHT_FEATURES
    c2, night2 = c.copy(), night.copy()
    c2[:, t + 1 :] *= 5
    night2[:, t + 1 :] += 7
    g = build_features(c2, 0, 1, night2)
    assert np.array_equal(f.x[:, : t + 1], g.x[:, : t + 1])
    assert not np.array_equal(f.x[:, t + 1 :], g.x[:, t + 1 :])


def test_count_model_with_overnight_inputs_needs_them_and_goes_without() -> None:
    rng = np.random.default_rng(13)
    night = rng.poisson(1.0, size=(8, 400))
    c = rng.poisson(2.0 + 2.0 * np.roll(night, 1, axis=1))  # tomorrow follows tonight
    m = fit_count_model(c, 0, 1, 399, night)
    assert m.uses_overnight and m.coefficients["overnight_ratio"] > 0.1
    assert m.predict(c, 0, night).mu.shape == c.shape
    with pytest.raises(InputError, match="overnight"):
        m.predict(c, 0)
    plain = fit_count_model(c, 0, 1, 399)
    assert not plain.uses_overnight and "overnight_ratio" not in plain.coefficients


def test_backtest_with_overnight_counts_fits_nothing_on_the_evaluation_period() -> None:
    c = _poisson(np.full((6, 300), 5.0), 4)
    night = _poisson(np.full((6, 300), 1.0), 5)
    s = DailySeries(tuple("abcdef"), date(2023, 1, 1), c, "UTC", (), night)
    cfg = BacktestConfig(date(2023, 9, 1), horizon=1, reps=20)
    first = run_backtest(s, cfg)
    assert "overnight_ratio" in first.coefficients
    cut = s.index_of(date(2023, 9, 2))
    c2, night2 = c.copy(), night.copy()
    c2[:, cut:] *= 3
    night2[:, cut:] += 4
    second = run_backtest(DailySeries(s.units, s.start, c2, "UTC", (), night2), cfg)
    assert first.coefficients == second.coefficients
    assert first.pool_weights == second.pool_weights
