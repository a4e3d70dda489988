"""Alerts from the pure core: what is raised, who gets it, the signature."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from truceline.domain.errors import InputError
from truceline.warning.alerts import Alert, Inputs, Policy, raise_alerts, route, sign, verify
from truceline.warning.escalation import EscalationRule
from truceline.warning.models import baseline_mean
from truceline.warning.predictive import Predictive
from truceline.warning.series import DailySeries
from truceline.warning.surge import SurgeDetector

DAY0 = date(2024, 1, 1)


def _inputs(counts: np.ndarray, units: tuple[str, ...]) -> Inputs:
    s = DailySeries(units, DAY0, counts, "Europe/Kyiv")
    return Inputs(s, Predictive.of(baseline_mean(counts, "trailing28", 7), 0.5))


def _raise(counts: np.ndarray, units: tuple[str, ...], t: int) -> list[Alert]:
    inp = _inputs(counts, units)
    return raise_alerts(inp, DAY0 + timedelta(days=t), EscalationRule(), SurgeDetector(), 0.5)


def test_a_surge_raises_an_alert_the_same_day() -> None:
    c = np.random.default_rng(3).poisson(3.0, (1, 60)).astype(np.int64)
    c[0, 59] = 28
    alerts = _raise(c, ("north",), 59)
    assert [(a.kind, a.unit, a.day) for a in alerts] == [("surge", "north", DAY0 + timedelta(59))]
    a = alerts[0]
    assert a.score < 1e-3 and 2 < a.baseline < 5
    assert a.observed[-1] == 28 and len(a.observed) == 7
    rec = a.to_record()
    assert rec["window"] == [rec["day"], rec["day"]]


def test_a_stable_series_and_a_lone_event_raise_nothing() -> None:
    c = np.random.default_rng(4).poisson(3.0, (2, 60)).astype(np.int64)
    c[1, :] = 0
    c[1, 59] = 1  # one event after 28 (and more) silent days
    for t in range(30, 60):
        assert _raise(c, ("stable", "silent"), t) == []


def test_a_day_outside_the_series_is_refused() -> None:
    with pytest.raises(InputError, match="outside the series"):
        _raise(np.zeros((1, 40), np.int64), ("a",), 40)


def _alert(unit: str, kind: str = "surge", score: float = 1e-5) -> Alert:
    return Alert(unit, kind, DAY0, DAY0, DAY0, score, 3.0, (1, 2, 3))


def test_route_applies_units_kinds_probability_cooldown_and_quiet_hours() -> None:
    noon = datetime(2024, 1, 1, 10, tzinfo=UTC)  # 12:00 in Kyiv
    alerts = [
        _alert("n"),
        _alert("s"),
        _alert("n", "escalation", 0.6),
        _alert("s", "escalation", 0.9),
    ]
    picky = Policy("picky", units=("n",), min_probability=0.7)
    night = Policy(
        "night", kinds=("escalation",), min_probability=0.5, quiet_start=11, quiet_end=13
    )
    got = route(alerts, [picky, night], {}, noon)
    assert [(r.policy.subscriber, r.alert.unit, r.alert.kind, r.status) for r in got] == [
        ("picky", "n", "surge", "push"),
        ("night", "n", "escalation", "held"),
        ("night", "s", "escalation", "held"),
    ]
    recent = {("picky", "n", "surge"): noon - timedelta(hours=3)}
    assert route(alerts, [picky], recent, noon) == []
    old = {("picky", "n", "surge"): noon - timedelta(hours=25)}
    assert len(route(alerts, [picky], old, noon)) == 1


def test_quiet_hours_wrap_midnight_in_the_policy_zone() -> None:
    p = Policy("p", quiet_start=22, quiet_end=7)
    assert p.quiet_at(datetime(2024, 1, 1, 21, tzinfo=UTC))  # 23:00 Kyiv
    assert not p.quiet_at(datetime(2024, 1, 1, 6, tzinfo=UTC))  # 08:00 Kyiv
    with pytest.raises(InputError):
        Policy("p", quiet_start=25, quiet_end=3)


def test_signature_is_hmac_sha256_of_time_and_body() -> None:
    import hashlib
    import hmac

    header = sign(b"k" * 16, 1700000000, b'{"a":1}')
    mac = hmac.new(b"k" * 16, b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={mac}"
    assert verify(b"k" * 16, header, b'{"a":1}')
    assert not verify(b"k" * 16, header, b'{"a":2}')
    assert not verify(b"x" * 16, header, b'{"a":1}')
    assert not verify(b"k" * 16, "garbage", b"")
