"""Coverage fractions over area x time, and silent sensors."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, box

from truceline.fusion.coverage import CoverageRecord, observed_fraction, silent_sensors

S1 = box(37.0, 48.0, 37.1, 48.1)
S2 = box(37.1, 48.0, 37.2, 48.1)
SECTORS = {"s1": S1, "s2": S2}
DAY = 86400


def test_post_watching_one_sector_half_the_day() -> None:
    recs = [CoverageRecord("op1", "observed", 0, DAY // 2, S1)]
    f = observed_fraction(SECTORS, recs, 0, DAY)
    assert np.isclose(f["s1"], 0.5, atol=1e-6)
    assert f["s2"] == 0.0


def test_outage_and_denial_remove_coverage() -> None:
    recs = [
        CoverageRecord("op1", "observed", 0, DAY, S1.union(S2)),
        CoverageRecord("op1", "outage", 0, DAY // 4, None),  # down the first 6 hours
        CoverageRecord("op1", "denied", DAY // 2, DAY, S2),  # could not see s2 after noon
    ]
    f = observed_fraction(SECTORS, recs, 0, DAY)
    assert np.isclose(f["s1"], 0.75, atol=1e-6)
    assert np.isclose(f["s2"], 0.25, atol=1e-6)


def test_overlapping_sources_do_not_double_count_and_patrol_route() -> None:
    route = LineString([(37.0, 48.05), (37.2, 48.05)]).buffer(0.01)
    recs = [
        CoverageRecord("op1", "observed", 0, DAY, S1),
        CoverageRecord("op2", "observed", 0, DAY, S1),
        CoverageRecord("patrol", "observed", DAY // 2, DAY, route),
    ]
    f = observed_fraction(SECTORS, recs, 0, DAY)
    assert np.isclose(f["s1"], 1.0)
    assert 0.05 < f["s2"] < 0.15  # a 0.02-degree strip of a 0.1-degree sector, half the day


@settings(max_examples=40, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.integers(0, DAY), st.integers(0, DAY), st.floats(37.0, 37.2)),
        max_size=6,
    )
)
def test_fraction_is_bounded_and_monotone(spans: list[tuple[int, int, float]]) -> None:
    recs = [
        CoverageRecord(f"s{i}", "observed", min(a, b), max(a, b), box(37.0, 48.0, x, 48.1))
        for i, (a, b, x) in enumerate(spans)
    ]
    f = observed_fraction(SECTORS, recs, 0, DAY)
    assert all(0.0 <= v <= 1.0 + 1e-9 for v in f.values())
    more = observed_fraction(SECTORS, [*recs, CoverageRecord("x", "observed", 0, 3600, S2)], 0, DAY)
    assert all(more[k] >= f[k] - 1e-9 for k in f)


def test_silent_sensor_found_only_where_and_when_it_could_see() -> None:
    recs = [
        CoverageRecord("cam", "observed", 0, DAY, S1),
        CoverageRecord("cam", "outage", 0, 3600, None),
    ]
    lon, lat = [37.05, 37.05, 37.15, 37.05], [48.05, 48.05, 48.05, 48.05]
    t = [7200, 1800, 7200, 7200]
    # incident 3 was reported by the camera itself
    out = silent_sensors(lon, lat, t, [0, 3], ["osint", "cam"], recs)
    assert out == [("cam",), (), (), ()]


def test_daily_windows() -> None:
    from truceline.fusion.coverage import daily_windows

    assert daily_windows(0, 2 * DAY, 6 * 3600, 18 * 3600) == [
        (6 * 3600, 18 * 3600),
        (DAY + 6 * 3600, DAY + 18 * 3600),
    ]
    # overnight hours, clipped to the period
    assert daily_windows(0, DAY, 18 * 3600, 6 * 3600) == [(0, 6 * 3600), (18 * 3600, DAY)]
    f = observed_fraction(
        SECTORS,
        [
            CoverageRecord("op", "observed", a, b, S1)
            for a, b in daily_windows(0, 3 * DAY, 0, 8 * 3600)
        ],
        0,
        3 * DAY,
    )
    assert np.isclose(f["s1"], 1 / 3)


def test_silence_is_judged_per_group_and_over_the_whole_uncertainty() -> None:
    recs = [CoverageRecord(c, "observed", 0, DAY, S1) for c in ("cam1", "cam2")]
    lon, lat, t = [37.05, 37.05, 37.05], [48.05, 48.05, 48.05], [7200, 7200, 7200]
    groups = {"cam1": "post-1", "cam2": "post-1"}
    out = silent_sensors(lon, lat, t, [0], ["cam1"], recs, group_of=groups)
    assert out[0] == ()  # its twin reported it: one pair of eyes, not silent
    assert out[1] == ("cam1", "cam2")
    wide = silent_sensors(lon, lat, t, [], [], recs, radius_m=[0.0, 50_000.0, 0.0],
                          t_end=[7200, 7200, 2 * DAY])  # fmt: skip
    assert wide == [("cam1", "cam2"), (), ()]  # beyond the view in space, then in time
