"""Alerts, subscriptions and webhook deliveries (the early-warning tables)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from truceline.store.schema import alert_deliveries, alert_subscriptions, alerts, incidents

__all__ = [
    "AlertRow",
    "alert_records",
    "alerts_after",
    "DeliveryRow",
    "SubscriptionRow",
    "IncidentPoints",
    "incident_points",
    "insert_alert",
    "insert_delivery",
    "insert_subscription",
    "last_sent",
    "list_alerts",
    "list_deliveries",
    "list_subscriptions",
    "revoke_subscription",
    "set_alert_ledger_index",
    "update_delivery",
]


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    id: int
    subscriber: str
    url: str
    secret: str
    policy: dict[str, Any]
    created_at: int


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    unit: str
    kind: str
    day: str
    score: float
    record: dict[str, Any]
    created_at: int
    ledger_index: int | None


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    id: int
    alert_id: int
    subscription_id: int
    status: str
    attempts: int
    last_error: str | None
    updated_at: int


@dataclass(frozen=True, slots=True)
class IncidentPoints:
    """Live incidents as columns: sector ('unassigned' when none), kind, place, time."""

    sector: list[str]
    kind: list[str]
    lon: list[float]
    lat: list[float]
    at: list[int]


def incident_points(
    conn: Connection, since: int, until: int, statuses: tuple[str, ...], kinds: tuple[str, ...]
) -> IncidentPoints:
    """Sector, kind, place and time of every live incident in ``[since, until)`` with
    one of the statuses (and kinds, when given); incidents merged into others are
    left out."""
    q = select(
        incidents.c.sector,
        incidents.c.kind,
        incidents.c.lon,
        incidents.c.lat,
        incidents.c.t.label("at"),
    ).where(
        incidents.c.t >= since,
        incidents.c.t < until,
        incidents.c.merged_into.is_(None),
        incidents.c.status.in_(statuses),
    )
    if kinds:
        q = q.where(incidents.c.kind.in_(kinds))
    rows = conn.execute(q).all()
    return IncidentPoints(
        [r.sector or "unassigned" for r in rows],
        [r.kind for r in rows],
        [float(r.lon) for r in rows],
        [float(r.lat) for r in rows],
        [int(r.at) for r in rows],
    )


def insert_subscription(
    conn: Connection, subscriber: str, url: str, secret: str, policy: dict[str, Any], now: int
) -> int:
    values = {
        "subscriber": subscriber,
        "url": url,
        "secret": secret,
        "policy": json.dumps(policy, sort_keys=True),
        "created_at": now,
    }
    return int(
        conn.execute(
            alert_subscriptions.insert().values(**values).returning(alert_subscriptions.c.id)
        ).scalar_one()
    )


def list_subscriptions(conn: Connection) -> list[SubscriptionRow]:
    """Active subscriptions, oldest first."""
    t = alert_subscriptions
    rows = conn.execute(select(t).where(t.c.revoked_at.is_(None)).order_by(t.c.id)).all()
    return [
        SubscriptionRow(r.id, r.subscriber, r.url, r.secret, json.loads(r.policy), r.created_at)
        for r in rows
    ]


def revoke_subscription(conn: Connection, sub_id: int, now: int) -> bool:
    t = alert_subscriptions
    res = conn.execute(
        update(t).where(t.c.id == sub_id, t.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(res.rowcount)


def insert_alert(conn: Connection, record: dict[str, Any], score: float, now: int) -> int | None:
    """Store an alert; ``None`` when one of that unit, kind and day is stored already."""
    key = (
        alerts.c.unit == record["unit"],
        alerts.c.kind == record["kind"],
        alerts.c.day == record["day"],
    )
    if conn.execute(select(func.count()).select_from(alerts).where(*key)).scalar_one():
        return None
    values = {
        "unit": record["unit"],
        "kind": record["kind"],
        "day": record["day"],
        "score": score,
        "record": json.dumps(record, sort_keys=True),
        "created_at": now,
    }
    return int(conn.execute(alerts.insert().values(**values).returning(alerts.c.id)).scalar_one())


def set_alert_ledger_index(conn: Connection, alert_id: int, leaf: int) -> None:
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(ledger_index=leaf))


def list_alerts(
    conn: Connection, since_day: str | None = None, unit: str | None = None, limit: int = 100
) -> list[AlertRow]:
    """Alerts, newest first."""
    q = select(alerts).order_by(alerts.c.day.desc(), alerts.c.id.desc()).limit(limit)
    if since_day is not None:
        q = q.where(alerts.c.day >= since_day)
    if unit is not None:
        q = q.where(alerts.c.unit == unit)
    return [
        AlertRow(
            r.id, r.unit, r.kind, r.day, r.score, json.loads(r.record), r.created_at, r.ledger_index
        )
        for r in conn.execute(q).all()
    ]


def alert_records(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The stored records of the alerts ``ids``."""
    rows = conn.execute(select(alerts.c.id, alerts.c.record).where(alerts.c.id.in_(ids))).all()
    return {int(r.id): json.loads(r.record) for r in rows}


def alerts_after(conn: Connection, after_id: int, limit: int = 100) -> list[AlertRow]:
    """Alerts stored after id ``after_id``, oldest first (for a stream)."""
    q = select(alerts).where(alerts.c.id > after_id).order_by(alerts.c.id).limit(limit)
    return [
        AlertRow(
            r.id, r.unit, r.kind, r.day, r.score, json.loads(r.record), r.created_at, r.ledger_index
        )
        for r in conn.execute(q).all()
    ]


def insert_delivery(conn: Connection, alert_id: int, sub_id: int, status: str, now: int) -> int:
    values = {
        "alert_id": alert_id,
        "subscription_id": sub_id,
        "status": status,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    return int(
        conn.execute(
            alert_deliveries.insert().values(**values).returning(alert_deliveries.c.id)
        ).scalar_one()
    )


def update_delivery(
    conn: Connection, delivery_id: int, status: str, attempts: int, error: str | None, now: int
) -> None:
    conn.execute(
        update(alert_deliveries)
        .where(alert_deliveries.c.id == delivery_id)
        .values(status=status, attempts=attempts, last_error=error, updated_at=now)
    )


def list_deliveries(conn: Connection, status: str | None = None) -> list[DeliveryRow]:
    t = alert_deliveries
    q = select(t).order_by(t.c.id)
    if status is not None:
        q = q.where(t.c.status == status)
    return [
        DeliveryRow(
            r.id, r.alert_id, r.subscription_id, r.status, r.attempts, r.last_error, r.updated_at
        )
        for r in conn.execute(q).all()
    ]


def last_sent(conn: Connection) -> dict[tuple[int, str, str], int]:
    """When each subscription last got (or was held) an alert per unit and kind."""
    d, a = alert_deliveries, alerts
    q = (
        select(d.c.subscription_id, a.c.unit, a.c.kind, func.max(d.c.created_at).label("at"))
        .join(a, a.c.id == d.c.alert_id)
        .group_by(d.c.subscription_id, a.c.unit, a.c.kind)
    )
    return {(r.subscription_id, r.unit, r.kind): int(r.at) for r in conn.execute(q).all()}
