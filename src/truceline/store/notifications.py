"""The deconfliction register's tables: notifications and their versions, conflicts
found, answers awaited and given, hotline calls. Plain functions on a Connection."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from truceline.store.ledger import as_bytes
from truceline.store.schema import (
    hotline_calls,
    ledger_entries,
    notification_answers,
    notification_conflicts,
    notification_versions,
    notifications,
)

__all__ = [
    "AnswerRow",
    "NotificationRow",
    "add_answers",
    "add_call",
    "add_conflicts",
    "add_notification",
    "add_version",
    "answers_of",
    "calls",
    "changed_since",
    "conflicts_of",
    "due_answers",
    "get_answer",
    "get_notification",
    "get_notifications",
    "leaf_hash",
    "list_notifications",
    "register_mark",
    "set_answer",
    "set_current",
    "set_escalated",
    "versions_of",
]


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: int
    party: str
    activity: str
    status: str
    version: int
    footprint: str  # GeoJSON
    t_start: int
    t_end: int
    alt_min: float
    alt_max: float
    personnel: int | None
    details: dict[str, Any]
    filed_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class AnswerRow:
    id: int
    notification_id: int
    version: int
    party: str
    sent_at: int
    due_at: int
    answer: str | None
    reason: str | None
    answered_at: int | None
    escalated_at: int | None


def _note(r: Any) -> NotificationRow:
    return NotificationRow(
        int(r.id),
        str(r.party),
        str(r.activity),
        str(r.status),
        int(r.version),
        str(r.footprint),
        int(r.t_start),
        int(r.t_end),
        float(r.alt_min),
        float(r.alt_max),
        None if r.personnel is None else int(r.personnel),
        json.loads(r.details),
        int(r.filed_at),
        int(r.updated_at),
    )


def _answer(r: Any) -> AnswerRow:
    return AnswerRow(*(r[k] for k in range(10)))


def add_notification(conn: Connection, row: Mapping[str, Any]) -> int:
    """Insert the current row of a new notification; returns its id."""
    res = conn.execute(insert(notifications).values(**_enc(row)))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def set_current(conn: Connection, nid: int, row: Mapping[str, Any]) -> None:
    conn.execute(update(notifications).where(notifications.c.id == nid).values(**_enc(row)))


def add_version(conn: Connection, row: Mapping[str, Any]) -> None:
    vals = dict(_enc(row))
    vals["cited"] = json.dumps({str(k): v for k, v in sorted(row["cited"].items())})
    conn.execute(insert(notification_versions).values(**vals))


def _enc(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    if "details" in out:
        out["details"] = json.dumps(out["details"], sort_keys=True)
    return out


def get_notification(conn: Connection, nid: int) -> NotificationRow | None:
    r = conn.execute(select(notifications).where(notifications.c.id == nid)).first()
    return None if r is None else _note(r)


def list_notifications(
    conn: Connection, party: str | None = None, status: str | None = None
) -> list[NotificationRow]:
    q = select(notifications).order_by(notifications.c.id)
    if party is not None:
        q = q.where(notifications.c.party == party)
    if status is not None:
        q = q.where(notifications.c.status == status)
    return [_note(r) for r in conn.execute(q)]


def get_notifications(conn: Connection, ids: Sequence[int]) -> list[NotificationRow]:
    """The current rows of these notifications, by id."""
    if not ids:
        return []
    q = select(notifications).where(notifications.c.id.in_(list(ids)))
    return [_note(r) for r in conn.execute(q.order_by(notifications.c.id))]


def register_mark(conn: Connection) -> int:
    """The ledger index of the register's latest change (notify, amend, cancel,
    withdraw), -1 when there is none: every change appends one version."""
    last = conn.execute(select(func.max(notification_versions.c.ledger_index))).scalar_one()
    return -1 if last is None else int(last)


def changed_since(conn: Connection, mark: int) -> list[NotificationRow]:
    """The current rows of the notifications changed after ledger index ``mark``."""
    t = notification_versions
    ids = select(t.c.notification_id).where(t.c.ledger_index > mark)
    q = select(notifications).where(notifications.c.id.in_(ids)).order_by(notifications.c.id)
    return [_note(r) for r in conn.execute(q)]


def leaf_hash(conn: Connection, idx: int) -> bytes | None:
    """The leaf hash of ledger entry ``idx`` (None if there is no such entry): what a
    process that last looked at the register up to ``idx`` checks before catching up,
    so that a database replaced under the same address is noticed."""
    e = ledger_entries.c
    h = conn.execute(select(e.leaf_hash).where(e.idx == idx)).scalar_one_or_none()
    return None if h is None else as_bytes(h)


def versions_of(conn: Connection, nid: int) -> list[dict[str, Any]]:
    t = notification_versions
    rows = conn.execute(select(t).where(t.c.notification_id == nid).order_by(t.c.version))
    out = []
    for r in rows:
        d = dict(r._mapping)
        d["details"] = json.loads(d["details"])
        d["cited"] = {int(k): int(v) for k, v in json.loads(d["cited"]).items()}
        out.append(d)
    return out


def add_conflicts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    ids = []
    for row in rows:
        res = conn.execute(insert(notification_conflicts).values(**row))
        ids.append(int(res.inserted_primary_key[0]))  # type: ignore[index]
    return ids


def conflicts_of(conn: Connection, nid: int, version: int | None = None) -> list[dict[str, Any]]:
    t = notification_conflicts
    q = select(t).where(t.c.notification_id == nid)
    if version is not None:
        q = q.where(t.c.version == version)
    return [dict(r._mapping) for r in conn.execute(q.order_by(t.c.id))]


def add_answers(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    for row in rows:
        conn.execute(insert(notification_answers).values(**row))


def _answers_q() -> Any:
    t = notification_answers
    return select(
        t.c.id,
        t.c.notification_id,
        t.c.version,
        t.c.party,
        t.c.sent_at,
        t.c.due_at,
        t.c.answer,
        t.c.reason,
        t.c.answered_at,
        t.c.escalated_at,
    )


def answers_of(conn: Connection, nid: int) -> list[AnswerRow]:
    t = notification_answers
    q = _answers_q().where(t.c.notification_id == nid).order_by(t.c.version, t.c.party)
    return [_answer(r) for r in conn.execute(q)]


def get_answer(conn: Connection, nid: int, version: int, party: str) -> AnswerRow | None:
    t = notification_answers
    q = _answers_q().where(t.c.notification_id == nid, t.c.version == version, t.c.party == party)
    r = conn.execute(q).first()
    return None if r is None else _answer(r)


def set_answer(
    conn: Connection, aid: int, answer: str, reason: str | None, at: int, leaf: int
) -> None:
    t = notification_answers
    conn.execute(
        update(t)
        .where(t.c.id == aid)
        .values(answer=answer, reason=reason, answered_at=at, ledger_index=leaf)
    )


def due_answers(conn: Connection, now: int) -> list[AnswerRow]:
    """Answers still awaited whose deadline has passed and that are not yet escalated."""
    t = notification_answers
    q = _answers_q().where(t.c.answer.is_(None), t.c.due_at < now, t.c.escalated_at.is_(None))
    return [_answer(r) for r in conn.execute(q.order_by(t.c.due_at, t.c.id))]


def set_escalated(conn: Connection, ids: Sequence[int], at: int) -> None:
    t = notification_answers
    if ids:
        conn.execute(update(t).where(t.c.id.in_(list(ids))).values(escalated_at=at))


def add_call(conn: Connection, row: Mapping[str, Any]) -> int:
    res = conn.execute(insert(hotline_calls).values(**row))
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def calls(conn: Connection, notification_id: int | None = None) -> list[dict[str, Any]]:
    t = hotline_calls
    q = select(t).order_by(t.c.id)
    if notification_id is not None:
        q = q.where(t.c.notification_id == notification_id)
    return [dict(r._mapping) for r in conn.execute(q)]
