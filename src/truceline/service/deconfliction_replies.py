"""The register seen and answered: need-to-know views, acknowledgments and objections,
escalation of unanswered ones, the hotline log.

Need to know: the notifier and the analysts (``viewer=None``) see everything; a party of
the agreement sees another party's footprint, window and activity type (and the
version it must cite), never its altitude details, personnel or unit details; a notifier
that is not a party (a humanitarian organisation) sees only its own notifications and
whether they are acknowledged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from truceline.domain.errors import (
    Conflict,
    Forbidden,
    InputError,
    IntegrityError,
    NotFound,
    Problem,
)
from truceline.service.workspace import Workspace
from truceline.store import notifications as store
from truceline.store.db import reading, store_errors
from truceline.store.ledger import append, lock

__all__ = [
    "NotificationView",
    "answer",
    "conflicts",
    "escalate",
    "hotline",
    "hotline_log",
    "list_views",
    "view",
]


@dataclass(frozen=True, slots=True)
class NotificationView:
    id: int
    party: str
    activity: str
    status: str
    version: int
    footprint: str
    t_start: int
    t_end: int
    full: bool  # False: a counterparty's need-to-know view
    alt_min: float | None = None
    alt_max: float | None = None
    personnel: int | None = None
    details: dict[str, Any] | None = None
    answers: tuple[store.AnswerRow, ...] = ()
    history: tuple[dict[str, Any], ...] = ()


def _is_party(conn: Any, viewer: str, t: int) -> bool:
    # the register's terms (shapely, pyproj) load only when a party's view is asked for
    from truceline.service.deconfliction import terms

    parties = terms(conn, t).parties
    return not parties or viewer in parties


def _view(conn: Any, n: store.NotificationRow, viewer: str | None) -> NotificationView | None:
    answers = tuple(store.answers_of(conn, n.id))
    if viewer is None or viewer == n.party:
        hist = tuple(store.versions_of(conn, n.id))
        return NotificationView(
            n.id, n.party, n.activity, n.status, n.version, n.footprint, n.t_start, n.t_end,
            True, n.alt_min, n.alt_max, n.personnel, n.details, answers, hist,
        )  # fmt: skip
    if not _is_party(conn, viewer, n.t_start):
        return None  # a humanitarian notifier sees only its own
    mine = tuple(a for a in answers if a.party == viewer)
    return NotificationView(
        n.id, n.party, n.activity, n.status, n.version, n.footprint, n.t_start, n.t_end,
        False, answers=mine,
    )  # fmt: skip


def view(ws: Workspace, nid: int, viewer: str | None) -> NotificationView:
    with reading(ws.engine, "reading a notification") as conn:
        n = store.get_notification(conn, nid)
        v = None if n is None else _view(conn, n, viewer)
    if v is None:
        raise NotFound(f"no notification {nid}")
    return v


def list_views(
    ws: Workspace, viewer: str | None, status: str | None = "active"
) -> list[NotificationView]:
    with reading(ws.engine, "listing notifications") as conn:
        rows = store.list_notifications(conn, status=status)
        views = [_view(conn, n, viewer) for n in rows]
    return [v for v in views if v is not None]


def conflicts(ws: Workspace, nid: int, viewer: str | None) -> list[dict[str, Any]]:
    """The conflicts found for a notification (its notifier, the analysts, or a party
    whose notification it met)."""
    with reading(ws.engine, "reading conflicts") as conn:
        n = store.get_notification(conn, nid)
        if n is None:
            raise NotFound(f"no notification {nid}")
        found = store.conflicts_of(conn, nid)
    if viewer is None or viewer == n.party:
        return found
    return [c for c in found if c["other_party"] == viewer]


def answer(
    ws: Workspace,
    nid: int,
    party: str,
    objection: str | None = None,
    version: int | None = None,
    now: int | None = None,
) -> store.AnswerRow:
    """Acknowledge a notification's version (default: the current one), or object to it
    with a reason."""
    if objection is not None and not objection.strip():
        raise InputError("an objection needs a reason", [Problem("empty", field="reason")])
    now = int(time.time()) if now is None else now
    with store_errors("answering a notification"), ws.engine.begin() as conn:
        lock(conn)
        n = store.get_notification(conn, nid)
        if n is None:
            raise NotFound(f"no notification {nid}")
        ver = n.version if version is None else version
        a = store.get_answer(conn, nid, ver, party)
        if a is None:
            raise Forbidden(f"{party} was not asked to answer notification {nid} version {ver}")
        if a.answer is not None:
            raise Conflict(f"{party} already {a.answer} notification {nid} version {ver}")
        what = "acknowledged" if objection is None else "objected"
        rec = {"notification": nid, "version": ver, "party": party, "answer": what,
               "reason": objection, "due_at": a.due_at, "late": now > a.due_at}  # fmt: skip
        leaf = append(conn, "notification_answer", [(f"notification/{nid}/v{ver}", rec)], at=now)[0]
        store.set_answer(conn, a.id, what, objection, now, leaf)
        got = store.get_answer(conn, nid, ver, party)
    if got is None:
        raise IntegrityError(f"the answer of {party} to notification {nid} version {ver} "
                             "was not found right after it was stored")  # fmt: skip
    return got


def escalate(ws: Workspace, now: int | None = None) -> list[store.AnswerRow]:
    """Mark every answer past its deadline as escalated to the analysts (once each)."""
    now = int(time.time()) if now is None else now
    with store_errors("escalating unanswered notifications"), ws.engine.begin() as conn:
        lock(conn)
        due = store.due_answers(conn, now)
        items = [
            (f"notification/{a.notification_id}/v{a.version}",
             {"notification": a.notification_id, "version": a.version, "party": a.party,
              "due_at": a.due_at, "escalated_at": now})
            for a in due
        ]  # fmt: skip
        append(conn, "notification_escalation", items, at=now)
        store.set_escalated(conn, [a.id for a in due], now)
    return due


def hotline(
    ws: Workspace,
    caller: str,
    summary: str,
    party: str | None = None,
    nid: int | None = None,
    now: int | None = None,
) -> int:
    """Log a hotline call (about a notification, when it names one)."""
    problems = [Problem("empty", field=f) for f, v in (("caller", caller), ("summary", summary))
                if not v.strip()]  # fmt: skip
    if problems:
        raise InputError(
            "hotline call refused: " + ", ".join(f"{p.field} empty" for p in problems), problems
        )
    now = int(time.time()) if now is None else now
    with store_errors("logging a hotline call"), ws.engine.begin() as conn:
        lock(conn)
        if nid is not None and store.get_notification(conn, nid) is None:
            raise NotFound(f"no notification {nid}")
        rec = {"caller": caller, "party": party, "notification": nid, "summary": summary, "at": now}
        leaf = append(conn, "hotline_call", [(f"hotline/{now}", rec)], at=now)[0]
        return store.add_call(
            conn, {"at": now, "caller": caller, "party": party, "notification_id": nid,
                   "summary": summary, "ledger_index": leaf}
        )  # fmt: skip


def hotline_log(ws: Workspace, nid: int | None = None) -> list[dict[str, Any]]:
    with reading(ws.engine, "reading the hotline log") as conn:
        return store.calls(conn, nid)
