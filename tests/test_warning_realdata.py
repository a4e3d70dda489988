"""The readers and a short backtest on the public data in ../shared/data/real."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from truceline.warning.backtest import BacktestConfig, run_backtest
from truceline.warning.readers import read_air_raid, read_ucdp_events

pytestmark = pytest.mark.realdata

OFFICIAL = "air_raid_alerts_official_2022-03-15_2024-04-23.csv"
UCDP = "ucdp_ged231_ukraine_2014_2022-02-23.csv"


def test_official_alerts_leave_out_a_permanent_alert(real_data: Path) -> None:
    s = read_air_raid(real_data / OFFICIAL)
    assert len(s.units) == 24 and "Luhanska oblast" not in s.units
    assert "Luhanska oblast (1 starts)" in s.notes[1]
    assert s.start == date(2022, 3, 15) and s.tz == "Europe/Kyiv"
    # every start of a kept oblast is counted once
    assert int(s.counts[s.units.index("Donetska oblast")].sum()) == 5238
    # the alerts still active at a local midnight: the overnight counts
    assert s.overnight is not None and int(s.overnight.sum()) == 2855
    assert int(s.overnight[s.units.index("Donetska oblast")].sum()) > 0


def test_ucdp_donbas_counts(real_data: Path) -> None:
    s = read_ucdp_events(real_data / UCDP, units=("Donetsk oblast", "Luhansk oblast"))
    assert s.counts.sum(axis=1).tolist() == [2112, 727]
    assert "counted on their first day" in s.notes[1]


def test_short_backtest_on_official_alerts(real_data: Path) -> None:
    s = read_air_raid(real_data / OFFICIAL)
    r = run_backtest(s, BacktestConfig(date(2023, 12, 31), 1, date(2024, 1, 31), reps=30))
    by = {m.model: m for m in r.scores}
    assert by["nb-glm"].unit_days == 24 * 31
    assert all(np.isfinite(by[k].crps) for k in by if k != "base-rate")
    # persistence is the poor baseline on this data; the model is at least as good as it
    assert by["nb-glm"].crps < by["persistence-poisson"].crps
    assert 0 < by["nb-glm"].base_rate < 0.5


def test_seven_day_dispersion_on_official_alerts_is_not_poisson(real_data: Path) -> None:
    # a joint NB fit once ended near alpha = 0 here: too narrow a 7-day forecast
    from truceline.warning.models import fit_count_model

    s = read_air_raid(real_data / OFFICIAL)
    m = fit_count_model(s.counts, s.start.weekday(), 7, s.index_of(date(2023, 12, 31)))
    assert 0.01 < m.alpha < 1.0
