"""Alerts: what the engine raises for a day, and which subscriber gets which.

:func:`raise_alerts` turns a day's surge firings and escalation probabilities into
:class:`Alert` records (unit, window, score, baseline, observed counts, drivers).
:func:`route` applies each subscriber's :class:`Policy` (units, kind, minimum
probability, cooldown, quiet hours). :func:`sign` gives the HMAC-SHA256 signature
a webhook receiver checks. Pure: the caller stores, logs and sends.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from truceline.domain.errors import InputError
from truceline.warning.escalation import EscalationRule
from truceline.warning.predictive import Forecast
from truceline.warning.series import DailySeries
from truceline.warning.surge import SurgeDetector

__all__ = [
    "KINDS",
    "SIGNATURE_HEADER",
    "Alert",
    "Inputs",
    "Policy",
    "Routed",
    "raise_alerts",
    "route",
    "sign",
    "verify",
]

KINDS = ("surge", "escalation")
SIGNATURE_HEADER = "X-Truceline-Signature"


@dataclass(frozen=True, slots=True)
class Alert:
    """An early warning for one unit: ``score`` is a probability (escalation) or the
    tail probability of the day's count (surge; smaller is stranger)."""

    unit: str
    kind: str
    day: date  # the local day the alert is about (raised on)
    window_start: date
    window_end: date
    score: float
    baseline: float  # expected count over the window
    observed: tuple[int, ...]  # the last 7 days' counts, oldest first
    drivers: tuple[tuple[str, float], ...] = ()  # input -> its term in the log mean

    def to_record(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "kind": self.kind,
            "day": self.day.isoformat(),
            "window": [self.window_start.isoformat(), self.window_end.isoformat()],
            "score": self.score,  # exact: a surge's tail probability rounds to 0
            "baseline": round(self.baseline, 3),
            "observed": list(self.observed),
            "drivers": {k: round(v, 4) for k, v in self.drivers},
        }


@dataclass(frozen=True, slots=True)
class Policy:
    """A subscriber's terms: which units (empty: all), which kind, the least
    escalation probability, the hours between two alerts on one unit, and local
    quiet hours ``[start, end)`` in which alerts are held instead of pushed."""

    subscriber: str
    units: tuple[str, ...] = ()
    kinds: tuple[str, ...] = KINDS
    min_probability: float = 0.5
    cooldown_hours: float = 24.0
    quiet_start: int | None = None
    quiet_end: int | None = None
    tz: str = "Europe/Kyiv"

    def __post_init__(self) -> None:
        if not 0 <= self.min_probability <= 1:
            raise InputError("policy: min_probability must lie between 0 and 1")
        if self.cooldown_hours < 0:
            raise InputError("policy: cooldown_hours must not be negative")
        if any(k not in KINDS for k in self.kinds):
            raise InputError(f"policy: kinds must be among {', '.join(KINDS)}")
        for h in (self.quiet_start, self.quiet_end):
            if h is not None and not 0 <= h <= 23:
                raise InputError("policy: quiet hours are whole hours 0 to 23")

    def quiet_at(self, now: datetime) -> bool:
        if self.quiet_start is None or self.quiet_end is None:
            return False
        h = now.astimezone(ZoneInfo(self.tz)).hour
        s, e = self.quiet_start, self.quiet_end
        return s <= h < e if s <= e else (h >= s or h < e)


@dataclass(frozen=True, slots=True)
class Routed:
    """One alert for one subscriber: ``push`` now, or ``held`` in quiet hours."""

    alert: Alert
    policy: Policy
    status: str


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the engine knows on a day: the series, the model's 7-day forecast at
    every origin (or none) and the drivers' terms ``[u, t, k]`` with their names."""

    series: DailySeries
    forecast: Forecast
    drivers: npt.NDArray[np.float64] | None = None
    driver_names: tuple[str, ...] = field(default=())


def raise_alerts(
    inp: Inputs, day: date, rule: EscalationRule, detector: SurgeDetector, min_prob: float
) -> list[Alert]:
    """Alerts for local ``day``: a surge fired that day, or escalation over the next
    ``rule.window`` days at least ``min_prob`` likely."""
    s = inp.series
    t = s.index_of(day)
    if not 0 <= t < s.n_days:
        raise InputError(f"{day} is outside the series ({s.start} .. {s.day(s.n_days - 1)})")
    c = s.counts
    surge = detector.run(c[:, : t + 1])
    expected = rule.expected(c[:, : t + 1])[:, t]
    f = inp.forecast[:, t]
    prob = rule.probability(f, expected)
    out = []
    for u, unit in enumerate(s.units):
        observed = tuple(int(x) for x in c[u, max(0, t - 6) : t + 1])
        if surge.fired[u, t]:
            out.append(
                Alert(
                    unit,
                    "surge",
                    day,
                    day,
                    day,
                    float(surge.tail[u, t]),
                    float(surge.baseline[u, t]),
                    observed,
                    _drivers(inp, u, t),
                )
            )
        if prob[u] >= min_prob:
            end = day + timedelta(days=rule.window)
            out.append(
                Alert(
                    unit,
                    "escalation",
                    day,
                    day + timedelta(days=1),
                    end,
                    float(prob[u]),
                    float(expected[u]),
                    observed,
                    _drivers(inp, u, t),
                )
            )
    return out


def _drivers(inp: Inputs, u: int, t: int, top: int = 3) -> tuple[tuple[str, float], ...]:
    if inp.drivers is None:
        return ()
    terms = inp.drivers[u, t]
    order = np.argsort(-np.abs(terms))
    names = inp.driver_names
    return tuple((names[i], float(terms[i])) for i in order if names[i] != "const")[:top]


def route(
    alerts: list[Alert],
    policies: list[Policy],
    last_sent: dict[tuple[str, str, str], datetime],
    now: datetime,
) -> list[Routed]:
    """Who gets which alert. ``last_sent[(subscriber, unit, kind)]`` is when that
    subscriber last got an alert of that kind on that unit (for the cooldown)."""
    out = []
    for p in policies:
        for a in alerts:
            if (p.units and a.unit not in p.units) or a.kind not in p.kinds:
                continue
            if a.kind == "escalation" and a.score < p.min_probability:
                continue
            last = last_sent.get((p.subscriber, a.unit, a.kind))
            if last is not None and now - last < timedelta(hours=p.cooldown_hours):
                continue
            out.append(Routed(a, p, "held" if p.quiet_at(now) else "push"))
    return out


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value: ``t=<unix time>,v1=<hex HMAC-SHA256 of "t." + body>``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, header: str, body: bytes) -> bool:
    """Whether ``header`` is a valid signature of ``body`` under ``secret``."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        expected = sign(secret, int(parts["t"]), body)
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(expected, header)
