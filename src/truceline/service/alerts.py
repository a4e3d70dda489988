"""Alert use cases: subscribe, run the engine on the store's incidents, push, list.

``run_alerts`` reads live incidents per unit (reporting sector, administrative
region, kind, or region and kind) from the store, builds the local-day series,
raises the day's alerts with the warning core, stores each new alert with its
ledger entry and routes it to the subscriptions in one transaction, then pushes
what is due through the sink and records the outcome (delivered, or dead after
the sink's last retry: the dead-letter list).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from truceline.domain.errors import InputError, NotFound
from truceline.service.workspace import Workspace
from truceline.store import alerts as store
from truceline.store.db import Connection, reading, store_errors

if TYPE_CHECKING:  # the warning core (numpy, scipy, pyarrow) loads when alerts are computed
    import numpy as np

    from truceline.service.webhooks import AlertSink
    from truceline.warning.alerts import Alert, Inputs, Policy
    from truceline.warning.regions import Regions
    from truceline.warning.series import DailySeries

__all__ = [
    "Policy",
    "RunSummary",
    "SectorForecast",
    "forecast_sectors",
    "alerts_after",
    "dead_letters",
    "deliver",
    "list_alerts",
    "incident_series",
    "run_alerts",
    "subscribe",
    "subscriptions",
    "unsubscribe",
]

LIVE_STATUSES = ("reported", "corroborated", "verified")
#: units of the store's series: reporting sector, administrative region, kind, or both
INCIDENT_UNITS = ("sector", "adm1", "kind", "adm1-kind")
HISTORY_DAYS = 400
#: NB dispersion of the trailing-mean forecast used while history is too short to fit
FALLBACK_ALPHA = 0.5


def __getattr__(name: str) -> Any:
    """``Policy``, the warning core's, loaded when first asked for."""
    if name == "Policy":
        from truceline.warning.alerts import Policy

        return Policy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class SectorForecast:
    """The next ``window`` days of one sector: expected total, 90 % interval, the
    escalation probability, the baseline it is measured against and the drivers."""

    unit: str
    mean: float
    low: float
    high: float
    escalation: float
    baseline: float
    drivers: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class RunSummary:
    alerts: list[Alert]  # raised and newly stored
    pushed: int
    held: int
    dead: int


def subscribe(ws: Workspace, url: str, secret: str, policy: Policy) -> int:
    """Store a subscription; returns its id."""
    if not url.startswith(("http://", "https://")):
        raise InputError(f"webhook URL {url!r} must start with http:// or https://")
    if len(secret) < 16:
        raise InputError("the webhook secret must be at least 16 characters")
    terms = {k: v for k, v in asdict(policy).items() if k != "subscriber"}
    with store_errors("storing the subscription"), ws.engine.begin() as conn:
        return store.insert_subscription(
            conn, policy.subscriber, url, secret, terms, int(time.time())
        )


def unsubscribe(ws: Workspace, sub_id: int) -> None:
    with store_errors("revoking the subscription"), ws.engine.begin() as conn:
        if not store.revoke_subscription(conn, sub_id, int(time.time())):
            raise NotFound(f"no active subscription {sub_id}")


def _policy(row: store.SubscriptionRow) -> Policy:
    from truceline.warning.alerts import Policy

    p = dict(row.policy)
    for k in ("units", "kinds"):
        p[k] = tuple(p.get(k, ()))
    return Policy(subscriber=row.subscriber, **p)


def subscriptions(ws: Workspace) -> list[tuple[int, str, str, Policy]]:
    """Active subscriptions as (id, subscriber, url, policy); secrets are not shown."""
    with reading(ws.engine, "listing subscriptions") as conn:
        return [(r.id, r.subscriber, r.url, _policy(r)) for r in store.list_subscriptions(conn)]


def list_alerts(
    ws: Workspace, since: date | None = None, unit: str | None = None, limit: int = 100
) -> list[store.AlertRow]:
    with reading(ws.engine, "listing alerts") as conn:
        return store.list_alerts(conn, None if since is None else since.isoformat(), unit, limit)


def alerts_after(ws: Workspace, after_id: int, limit: int = 100) -> list[store.AlertRow]:
    """Alerts stored after ``after_id``, oldest first (what a stream sends next)."""
    with reading(ws.engine, "reading new alerts") as conn:
        return store.alerts_after(conn, after_id, limit)


def dead_letters(ws: Workspace) -> list[store.DeliveryRow]:
    """Deliveries given up after the last retry."""
    with reading(ws.engine, "listing dead letters") as conn:
        return store.list_deliveries(conn, "dead")


def incident_series(
    ws: Workspace,
    day: date,
    tz: str,
    statuses: tuple[str, ...],
    kinds: tuple[str, ...] = (),
    *,
    unit: str = "sector",
    regions: Regions | None = None,
) -> DailySeries:
    """Live incidents per unit and local day, up to and including ``day``.

    ``unit`` is ``sector`` (the reporting sector), ``adm1`` (the region of
    ``regions`` holding the incident's place), ``kind``, or ``adm1-kind``.
    """
    import numpy as np

    from truceline.warning.readers import NO_OVERNIGHT
    from truceline.warning.series import from_events, local_days

    if unit not in INCIDENT_UNITS:
        raise InputError(f"--unit {unit!r}: use one of {', '.join(INCIDENT_UNITS)}")
    if unit.startswith("adm1") and regions is None:
        raise InputError(f"--unit {unit}: counting by region needs a boundaries file (--regions)")
    start = day - timedelta(days=HISTORY_DAYS - 1)
    lo = int(datetime.combine(start - timedelta(days=1), datetime.min.time(), UTC).timestamp())
    hi = int(datetime.combine(day + timedelta(days=2), datetime.min.time(), UTC).timestamp())
    with reading(ws.engine, "reading incidents per unit") as conn:
        pts = store.incident_points(conn, lo, hi, statuses, kinds)
    days = local_days(np.asarray(pts.at, dtype=np.int64), tz)
    names = np.asarray(pts.sector if unit == "sector" else pts.kind, dtype=str)
    notes = [
        f"incidents ({', '.join(statuses)}) per {unit} and local day ({tz})",
        f"incidents have {NO_OVERNIGHT}",
    ]
    if regions is not None and unit.startswith("adm1"):
        region = regions.assign(np.asarray(pts.lon), np.asarray(pts.lat))
        names = region if unit == "adm1" else np.char.add(np.char.add(region, "/"), names)
        names = np.where(region == "", "outside the regions", names)
        notes.append(f"{int((region == '').sum())} incident(s) in no region of {regions.source}")
    return from_events(names, days, tz=tz, start=start, end=day, notes=tuple(notes))


def _pad(a: np.ndarray, n: int, value: float) -> np.ndarray:
    """``a`` with ``n`` columns of ``value`` in front (axis 1)."""
    import numpy as np

    shape = (a.shape[0], n, *a.shape[2:])
    return np.concatenate([np.full(shape, value), a], axis=1)


def _inputs(series: DailySeries, window: int) -> Inputs:
    """The count model when the history allows fitting it, else the trailing mean."""
    import numpy as np

    from truceline.warning.alerts import Inputs
    from truceline.warning.features import MIN_HISTORY
    from truceline.warning.models import baseline_mean, fit_count_model
    from truceline.warning.predictive import Pool, Predictive

    active = np.flatnonzero(series.counts.sum(axis=0))
    first = int(active[0]) if active.size else series.n_days
    # the model needs its history to be history: days before the first event recorded
    # (an empty store) are not months of calm
    if series.n_days - 1 - first - window >= MIN_HISTORY + 28:
        c = series.counts[:, first:]
        wd = series.day(first).weekday()
        train_end = c.shape[1] - 1
        try:
            night = None if series.overnight is None else series.overnight[:, first:]
            model = fit_count_model(c, wd, window, train_end, night)
        except InputError:
            model = None  # a degenerate history (e.g. constant): the trailing mean serves
        if model is not None:
            names = model.names
            pad = series.n_days - c.shape[1]
            p, d = model.predict(c, wd, night), model.contributions(c, wd, night)
            forecast = Pool(
                tuple(Predictive(_pad(q.mu, pad, 1e-3), _pad(q.alpha, pad, 0.0)) for q in p.parts),
                p.weights,
            )
            return Inputs(series, forecast, _pad(d, pad, 0.0), names)
    mu = baseline_mean(series.counts, "trailing28", window)
    return Inputs(series, Predictive.of(mu, FALLBACK_ALPHA))


def forecast_sectors(
    ws: Workspace,
    day: date,
    *,
    tz: str = "Europe/Kyiv",
    statuses: tuple[str, ...] = LIVE_STATUSES,
    kinds: tuple[str, ...] = (),
    unit: str = "sector",
    regions: Regions | None = None,
) -> list[SectorForecast]:
    """Each unit's forecast of the 7 days after local ``day`` (units as in
    :func:`incident_series`)."""
    import numpy as np

    from truceline.warning.escalation import EscalationRule

    series = incident_series(ws, day, tz, statuses, kinds, unit=unit, regions=regions)
    rule = EscalationRule()
    inp = _inputs(series, rule.window)
    t = series.index_of(day)
    f = inp.forecast[:, t]
    expected = rule.expected(series.counts)[:, t]
    prob = rule.probability(f, expected)
    lo, hi = f.quantile(0.05), f.quantile(0.95)
    out = []
    for u, unit in enumerate(series.units):
        drivers: tuple[tuple[str, float], ...] = ()
        if inp.drivers is not None:
            terms = inp.drivers[u, t]
            order = [int(i) for i in np.argsort(-np.abs(terms))]
            pairs = [(inp.driver_names[i], float(terms[i])) for i in order]
            drivers = tuple(p for p in pairs if p[0] != "const")[:3]
        out.append(
            SectorForecast(
                unit,
                float(f.mu[u]),
                float(lo[u]),
                float(hi[u]),
                float(prob[u]),
                float(expected[u]),
                drivers,
            )
        )
    return out


def run_alerts(
    ws: Workspace,
    day: date,
    sink: AlertSink,
    *,
    tz: str = "Europe/Kyiv",
    statuses: tuple[str, ...] = LIVE_STATUSES,
    kinds: tuple[str, ...] = (),
    min_probability: float = 0.5,
    now: datetime | None = None,
    unit: str = "sector",
    regions: Regions | None = None,
) -> RunSummary:
    """Raise, store, log, route and push the alerts of local ``day`` (units as in
    :func:`incident_series`)."""
    from truceline.store.ledger import append
    from truceline.warning.alerts import raise_alerts
    from truceline.warning.escalation import EscalationRule
    from truceline.warning.surge import SurgeDetector

    series = incident_series(ws, day, tz, statuses, kinds, unit=unit, regions=regions)
    rule = EscalationRule()
    raised = raise_alerts(_inputs(series, rule.window), day, rule, SurgeDetector(), min_probability)
    when = now or datetime.now(UTC)
    stamp = int(when.timestamp())
    with store_errors("storing alerts"), ws.engine.begin() as conn:
        new: list[tuple[int, Alert]] = []
        for a in raised:
            alert_id = store.insert_alert(conn, a.to_record(), a.score, stamp)
            if alert_id is not None:
                new.append((alert_id, a))
        leaves = append(conn, "alert", [(f"alert:{i}", a.to_record()) for i, a in new], at=stamp)
        for (alert_id, _), leaf in zip(new, leaves, strict=True):
            store.set_alert_ledger_index(conn, alert_id, leaf)
        held = _route(conn, new, when)
    pushed, dead = _push(ws, sink, stamp)
    return RunSummary([a for _, a in new], pushed, held, dead)


def _route(conn: Connection, new: list[tuple[int, Alert]], when: datetime) -> int:
    """Record a delivery per (alert, subscription) the policies let through; returns
    how many are held for quiet hours. Subscriptions are told apart by id."""
    from truceline.warning.alerts import route

    subs = store.list_subscriptions(conn)
    policies = [replace(_policy(s), subscriber=str(s.id)) for s in subs]
    last = {
        (str(sid), unit, kind): datetime.fromtimestamp(at, UTC)
        for (sid, unit, kind), at in store.last_sent(conn).items()
    }
    ids = {id(a): i for i, a in new}
    stamp = int(when.timestamp())
    held = 0
    for r in route([a for _, a in new], policies, last, when):
        status = "pending" if r.status == "push" else "held"
        held += status == "held"
        store.insert_delivery(conn, ids[id(r.alert)], int(r.policy.subscriber), status, stamp)
    return held


def _push(ws: Workspace, sink: AlertSink, stamp: int) -> tuple[int, int]:
    """Send every pending delivery; returns (delivered, dead)."""
    with reading(ws.engine, "reading pending deliveries") as conn:
        pending = store.list_deliveries(conn, "pending")
        subs = {s.id: s for s in store.list_subscriptions(conn)}
        bodies = store.alert_records(conn, sorted({d.alert_id for d in pending}))
    delivered = dead = 0
    for d in pending:
        sub = subs.get(d.subscription_id)
        if sub is None:
            continue
        body = json.dumps({"alert_id": d.alert_id, **bodies[d.alert_id]}, sort_keys=True)
        res = sink.send(sub.url, sub.secret.encode(), body.encode())
        status = "delivered" if res.ok else "dead"
        delivered, dead = delivered + res.ok, dead + (not res.ok)
        with store_errors("recording a delivery"), ws.engine.begin() as conn:
            store.update_delivery(conn, d.id, status, d.attempts + res.attempts, res.error, stamp)
    return delivered, dead


def deliver(ws: Workspace, sink: AlertSink, now: datetime | None = None) -> tuple[int, int]:
    """Release held deliveries whose quiet hours are over, then push everything due."""
    when = now or datetime.now(UTC)
    stamp = int(when.timestamp())
    with store_errors("releasing held deliveries"), ws.engine.begin() as conn:
        subs = {s.id: s for s in store.list_subscriptions(conn)}
        for d in store.list_deliveries(conn, "held"):
            sub = subs.get(d.subscription_id)
            if sub is not None and not _policy(sub).quiet_at(when):
                store.update_delivery(conn, d.id, "pending", d.attempts, d.last_error, stamp)
    return _push(ws, sink, stamp)
